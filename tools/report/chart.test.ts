import { describe, expect, it } from 'vitest';
import { accuracyChart, ChartDataError, ChartPoint, Regime, svgToPng } from './chart.js';

// Literal colours, written out here rather than read from REGIME_COLOURS, so a changed palette fails the test
const BLUE = '#1f77b4';
const ORANGE = '#ff7f0e';
const GREEN = '#2ca02c';
const GREY = '#7f7f7f';

const UNPRUNED: ChartPoint = {
  regime: 'unpruned', variant: 'base', flops: 313e6, params: 15e6, accuracy: 93.6,
};
const BY_FLOPS = { x: 'flops', title: 'VGG' } as const;

/** Three prune ratios per regime, listed out of x order so the chart must sort them. */
function prunedPoints(regimes: Regime[], std?: number): ChartPoint[] {
  const points: ChartPoint[] = [];
  for (const [offset, regime] of regimes.entries()) {
    for (const ratio of [0.5, 0.7, 0.3]) {
      const accuracy = 92 + offset * 0.4 - ratio;
      points.push({ regime, variant: `prune-${ratio}`, flops: 313e6 * (1 - ratio), params: 15e6 * (1 - ratio),
        accuracy, ...(std === undefined ? {} : { std }) });
    }
  }
  return points;
}

const ALL_REGIMES: Regime[] = ['fine-tuned', 'Scratch-E', 'Scratch-B'];

function hexToRgb(hex: string): [number, number, number] {
  return [1, 3, 5].map((start) => parseInt(hex.slice(start, start + 2), 16)) as [number, number, number];
}

/** Opaque pixels within Euclidean RGB distance 30 of `hex` (anti-aliased edges blend towards white). */
function countPixelsNear(pixels: Uint8Array, hex: string): number {
  const [red, green, blue] = hexToRgb(hex);
  let count = 0;
  for (let offset = 0; offset < pixels.length; offset += 4) {
    const distance = Math.hypot(pixels[offset] - red, pixels[offset + 1] - green, pixels[offset + 2] - blue);
    if (distance < 30 && pixels[offset + 3] > 200) count++;
  }
  return count;
}

function countNonWhite(pixels: Uint8Array): number {
  let count = 0;
  for (let offset = 0; offset < pixels.length; offset += 4) {
    const isWhite = pixels[offset] > 245 && pixels[offset + 1] > 245 && pixels[offset + 2] > 245;
    if (pixels[offset + 3] > 200 && !isWhite) count++;
  }
  return count;
}

/** Every element whose aria-roledescription is `role`, as its raw attribute text. */
function elementsWithRole(svg: string, role: string): string[] {
  return [...svg.matchAll(new RegExp(`<(?:path|line)[^>]*aria-roledescription="${role}"[^>]*>`, 'g'))]
    .map((match) => match[0]);
}

function attribute(element: string, name: string): string | undefined {
  return new RegExp(` ${name}="([^"]*)"`).exec(element)?.[1];
}

/** Text of each `<text>` inside a group of the given vega role class (e.g. "role-axis-title"). */
function textsInRole(svg: string, roleClass: string): string[] {
  const pattern = new RegExp(`<g class="[^"]*${roleClass}"[^>]*><text[^>]*>([^<]*)</text>`, 'g');
  return [...svg.matchAll(pattern)].map((match) => match[1]);
}

describe('accuracyChart rendered to PNG', () => {
  it('is 480 x 320, mostly drawn, and shows exactly the colours of the regimes present', async () => {
    const svg = await accuracyChart([UNPRUNED, ...prunedPoints(ALL_REGIMES, 0.15)], BY_FLOPS);
    const image = svgToPng(svg);
    expect([image.width, image.height]).toEqual([480, 320]);
    expect(image.pixels.length).toBe(480 * 320 * 4);
    expect([...image.png.subarray(1, 4)].map((code) => String.fromCharCode(code)).join('')).toBe('PNG');
    // axes, text, grid, lines: well above the 1% a title alone would give
    expect(countNonWhite(image.pixels) / (480 * 320)).toBeGreaterThan(0.05);
    // 200 is more than a legend swatch (about 80 pixels) can give: the line and its points must be drawn too
    for (const colour of [BLUE, ORANGE, GREEN, GREY]) {
      expect(countPixelsNear(image.pixels, colour), colour).toBeGreaterThan(200);
    }

    const withoutScratchB = [UNPRUNED, ...prunedPoints(['fine-tuned', 'Scratch-E'], 0.15)];
    const partial = svgToPng(await accuracyChart(withoutScratchB, BY_FLOPS));
    expect(countPixelsNear(partial.pixels, BLUE)).toBeGreaterThan(200);
    expect(countPixelsNear(partial.pixels, ORANGE)).toBeGreaterThan(200);
    expect(countPixelsNear(partial.pixels, GREEN)).toBe(0);
  });
});

describe('accuracyChart SVG structure', () => {
  it('has the title, axis titles, a legend, and one line per regime in its colour, sorted by x', async () => {
    const svg = await accuracyChart([UNPRUNED, ...prunedPoints(ALL_REGIMES)], {
      x: 'flops', title: 'ResNet-56 on CIFAR-10',
    });
    expect(textsInRole(svg, 'role-title-text')).toEqual(['ResNet-56 on CIFAR-10']);
    expect(textsInRole(svg, 'role-axis-title').sort()).toEqual(['FLOPs', 'Top-1 accuracy (%)']);
    const legendLabels = ['unpruned', 'fine-tuned', 'Scratch-E', 'Scratch-B'];
    expect(textsInRole(svg, 'role-legend-label')).toEqual(legendLabels);

    const lines = elementsWithRole(svg, 'line mark');
    expect(lines.map((line) => attribute(line, 'stroke')).sort()).toEqual([BLUE, ORANGE, GREEN].sort());
    for (const line of lines) {
      // a path "M x,y L x,y L x,y": three points whose x must rise left to right
      const vertices = (attribute(line, 'd') ?? '').split(/[ML]/).filter(Boolean);
      const xCoordinates = vertices.map((vertex) => Number(vertex.split(',')[0]));
      expect(xCoordinates).toHaveLength(3);
      expect([...xCoordinates].sort((left, right) => left - right)).toEqual(xCoordinates);
      expect(new Set(xCoordinates).size).toBe(3);
    }
  });

  it('draws the unpruned model as one dashed grey rule, and error bars only where std is given', async () => {
    const withStd = await accuracyChart([UNPRUNED, ...prunedPoints(ALL_REGIMES, 0.2)], BY_FLOPS);
    const rules = elementsWithRole(withStd, 'rule mark');
    expect(rules).toHaveLength(1);
    expect(attribute(rules[0], 'stroke')).toBe(GREY);
    expect(attribute(rules[0], 'stroke-dasharray')).toBeTruthy();
    // one bar per pruned point, in its regime's colour (the end ticks are unlabelled rects)
    const barColours = elementsWithRole(withStd, 'errorbar').map((bar) => attribute(bar, 'stroke'));
    expect(barColours.sort()).toEqual([BLUE, BLUE, BLUE, ORANGE, ORANGE, ORANGE, GREEN, GREEN, GREEN].sort());

    const withoutStd = await accuracyChart([UNPRUNED, ...prunedPoints(ALL_REGIMES)], BY_FLOPS);
    expect(elementsWithRole(withoutStd, 'errorbar')).toHaveLength(0);
    expect(elementsWithRole(withoutStd, 'rule mark')).toHaveLength(1);
  });
});

describe('accuracyChart x axis', () => {
  it("titles the x axis 'Parameters' when x is 'params'", async () => {
    const svg = await accuracyChart([UNPRUNED, ...prunedPoints(ALL_REGIMES)], { x: 'params', title: 'VGG' });
    expect(textsInRole(svg, 'role-axis-title').sort()).toEqual(['Parameters', 'Top-1 accuracy (%)']);
  });
});

describe('accuracyChart input checks', () => {
  it('names the file and field of bad input', async () => {
    await expect(accuracyChart([], BY_FLOPS)).rejects.toThrow(ChartDataError);
    const notANumber = { ...UNPRUNED, accuracy: Number.NaN };
    await expect(accuracyChart([notANumber], BY_FLOPS))
      .rejects.toThrow(/tools\/report\/chart\.ts: points\[0\]\.accuracy is NaN/);
  });
});
