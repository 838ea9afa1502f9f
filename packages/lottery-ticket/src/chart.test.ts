import { describe, expect, it } from 'vitest';
import { ticketChart, TicketChartError, TicketInit, TicketPoint } from './chart';

// Literal colours and dashes, written out here rather than read from chart.ts, so a changed palette fails
const RED = '#d62728';
const BLUE = '#1f77b4';
const SOLID = '1,0';
const DASHED = '6,4';

// listed out of alphabetical order, so the chart must keep the caller's panel order
const PANELS = ['vgg16 unstructured iterative', 'resnet56 structured one-shot'];
const INITS: TicketInit[] = ['random init', 'winning ticket'];
// the smaller LR first, so the legend must sort them descending
const LRS = [0.01, 0.1];
// out of x order, so each line must be sorted by sparsity
const SPARSITIES = [50, 20, 80];

/** 2 panels × 2 inits × 2 LRs × 3 sparsities = 24 points, accuracies multiples of 0.5. */
function gridPoints(stdFor?: (point: TicketPoint) => number | undefined): TicketPoint[] {
  const points: TicketPoint[] = [];
  PANELS.forEach((panel, panelIndex) => INITS.forEach((init, initIndex) => LRS.forEach((lr, lrIndex) => {
    for (const sparsity of SPARSITIES) {
      const accuracy = 80 + panelIndex * 6 + initIndex * 3 + lrIndex * 1.5 - sparsity / 20;
      const point: TicketPoint = { panel, init, lr, sparsity, accuracy };
      const std = stdFor?.(point);
      points.push(std === undefined ? point : { ...point, std });
    }
  })));
  return points;
}

/** Inner text of each `<g class="<markClass> role-<role> ...">` group; vega never nests a `<g>` in one. */
function groupBodies(svg: string, markClass: string, role: string): string[] {
  const pattern = new RegExp(`<g class="${markClass} role-${role}[^"]*"[^>]*>(.*?)</g>`, 'gs');
  return [...svg.matchAll(pattern)].map((match) => match[1]);
}

function textsOf(bodies: string[]): string[] {
  return bodies.flatMap((body) => [...body.matchAll(/<text[^>]*>([^<]*)<\/text>/g)].map((match) => match[1]));
}

/** Elements of a tag inside the groups, e.g. every `<path` of the chart's symbol marks. */
function elementsOf(bodies: string[], tag: string): string[] {
  const pattern = new RegExp(`<${tag}\\b[^>]*>`, 'g');
  return bodies.flatMap((body) => [...body.matchAll(pattern)].map((match) => match[0]));
}

/** Elements of the chart's own marks (not legends or axes) of one mark class, e.g. 'mark-symbol'. */
function markElements(svg: string, markClass: string, tag: string): string[] {
  return elementsOf(groupBodies(svg, markClass, 'mark'), tag);
}

function attribute(element: string, name: string): string | undefined {
  return new RegExp(` ${name}="([^"]*)"`).exec(element)?.[1];
}

/** The x of each vertex of an SVG path made of M and L commands, as vega writes a line. */
function pathXs(path: string): number[] {
  return [...(attribute(path, 'd') ?? '').matchAll(/[ML](-?[\d.]+),/g)].map((match) => Number(match[1]));
}

describe('ticketChart', () => {
  it('is an SVG document with the title and one column header per panel, in the given order', async () => {
    const svg = await ticketChart(gridPoints(), 'Lottery ticket: CIFAR-10');
    expect(svg.startsWith('<svg')).toBe(true);
    expect(svg.trimEnd().endsWith('</svg>')).toBe(true);
    // title texts: the panel headers first, then the chart's title
    const titles = textsOf(groupBodies(svg, 'mark-text', 'title-text'));
    expect(titles).toEqual([...PANELS, 'Lottery ticket: CIFAR-10']);
    expect(textsOf(groupBodies(svg, 'mark-text', 'axis-title'))).toEqual(
      expect.arrayContaining(['Conv weights pruned (%)', 'Top-1 accuracy (%)']));
  });

  it('lists winning ticket before random init and LRs descending in the legends', async () => {
    const svg = await ticketChart(gridPoints(), 'legend');
    expect(textsOf(groupBodies(svg, 'mark-text', 'legend-label')))
      .toEqual(['winning ticket', 'random init', 'LR 0.1', 'LR 0.01']);
    const swatches = elementsOf(groupBodies(svg, 'mark-symbol', 'legend-symbol'), 'path');
    expect(swatches.slice(0, 2).map((swatch) => attribute(swatch, 'stroke'))).toEqual([RED, BLUE]);
    expect(swatches.slice(2).map((swatch) => attribute(swatch, 'stroke-dasharray'))).toEqual([SOLID, DASHED]);
  });

  it('draws one point symbol per point, coloured by init', async () => {
    const symbols = markElements(await ticketChart(gridPoints(), 'points'), 'mark-symbol', 'path');
    expect(symbols).toHaveLength(24);
    const byColour = (colour: string) =>
      symbols.filter((symbol) => attribute(symbol, 'fill') === colour).length;
    expect([byColour(RED), byColour(BLUE)]).toEqual([12, 12]);
  });

  it('draws one line per panel × init × LR, stroked by init, dashed by LR, left to right', async () => {
    const lines = markElements(await ticketChart(gridPoints(), 'lines'), 'mark-line', 'path');
    expect(lines).toHaveLength(8);
    for (const line of lines) {
      // vega labels a line with its first point's fields, so the label names the series
      const label = attribute(line, 'aria-label') ?? '';
      expect(attribute(line, 'stroke')).toBe(label.includes('Initialisation: winning ticket') ? RED : BLUE);
      const dash = label.includes('Initial LR: LR 0.1;') ? SOLID : DASHED;
      expect(attribute(line, 'stroke-dasharray')).toBe(dash);
      const xs = pathXs(line);
      expect(xs).toHaveLength(3);
      expect([...xs].sort((left, right) => left - right)).toEqual(xs);
      expect(xs[0]).toBeLessThan(xs[2]);
    }
    const strokes = new Set(lines.map((line) => attribute(line, 'stroke')));
    expect(strokes).toEqual(new Set([RED, BLUE]));
  });

  it('gives each panel its own y axis, since models differ in accuracy', async () => {
    const svg = await ticketChart(gridPoints(), 'y axes');
    expect(svg.match(/aria-label="Y-axis titled 'Top-1 accuracy \(%\)'/g)).toHaveLength(PANELS.length);
  });

  it('draws no error bar without std', async () => {
    const svg = await ticketChart(gridPoints(), 'no std');
    expect(markElements(svg, 'mark-rule', 'line')).toHaveLength(0);
  });

  it('draws one error bar per point with std, from accuracy − std to accuracy + std', async () => {
    // std only for the winning ticket at LR 0.1 in the first panel: 3 bars
    const withStd = (point: TicketPoint) =>
      point.panel === PANELS[0] && point.init === 'winning ticket' && point.lr === 0.1 ? 0.5 : undefined;
    const bars = markElements(await ticketChart(gridPoints(withStd), 'std'), 'mark-rule', 'line');
    expect(bars).toHaveLength(3);
    // accuracy = 80 + 0 + 3 + 1.5 − sparsity / 20 = 82, 83.5, 80.5 at 50, 20, 80: hand-computed ends ± 0.5
    const labels = bars.map((bar) => attribute(bar, 'aria-label') ?? '').sort();
    expect(labels).toEqual([
      'Conv weights pruned (%): 20; Top-1 accuracy (%): 83; high: 84; Initialisation: winning ticket',
      'Conv weights pruned (%): 50; Top-1 accuracy (%): 81.5; high: 82.5; Initialisation: winning ticket',
      'Conv weights pruned (%): 80; Top-1 accuracy (%): 80; high: 81; Initialisation: winning ticket',
    ]);
    expect(bars.every((bar) => attribute(bar, 'stroke') === RED)).toBe(true);
  });

  it('shows one init only when only one is given', async () => {
    const points = gridPoints().filter((point) => point.init === 'random init');
    const svg = await ticketChart(points, 'random only');
    const legendLabels = textsOf(groupBodies(svg, 'mark-text', 'legend-label'));
    expect(legendLabels).toEqual(['random init', 'LR 0.1', 'LR 0.01']);
    const symbols = markElements(svg, 'mark-symbol', 'path');
    expect(new Set(symbols.map((symbol) => attribute(symbol, 'fill')))).toEqual(new Set([BLUE]));
  });
});

describe('ticketChart input checks', () => {
  const good: TicketPoint = { panel: 'vgg16 unstructured iterative', init: 'winning ticket', lr: 0.1,
    sparsity: 20, accuracy: 93 };
  const cases: [string, Partial<TicketPoint> | Record<string, unknown>, RegExp][] = [
    ['NaN sparsity', { sparsity: Number.NaN }, /points\[1\]\.sparsity is NaN/],
    ['infinite sparsity', { sparsity: Number.POSITIVE_INFINITY }, /points\[1\]\.sparsity is Infinity/],
    ['a sparsity above 100 %', { sparsity: 150 }, /points\[1\]\.sparsity is 150/],
    ['NaN accuracy', { accuracy: Number.NaN }, /points\[1\]\.accuracy is NaN/],
    ['infinite accuracy', { accuracy: Number.NEGATIVE_INFINITY }, /points\[1\]\.accuracy is -Infinity/],
    ['an unknown init', { init: 'lottery' }, /points\[1\]\.init is "lottery"/],
    ['a zero lr', { lr: 0 }, /points\[1\]\.lr is 0/],
    ['a negative lr', { lr: -0.1 }, /points\[1\]\.lr is -0\.1/],
    ['a NaN lr', { lr: Number.NaN }, /points\[1\]\.lr is NaN/],
    ['a negative std', { std: -1 }, /points\[1\]\.std is -1/],
    ['an empty panel', { panel: '' }, /points\[1\]\.panel is ""/],
  ];

  it.each(cases)('rejects %s, naming the field', async (_name, change, message) => {
    const points = [good, { ...good, ...change } as TicketPoint];
    await expect(ticketChart(points, 'bad')).rejects.toThrow(TicketChartError);
    await expect(ticketChart(points, 'bad')).rejects.toThrow(message);
  });

  it('rejects no points, naming the field and the file', async () => {
    await expect(ticketChart([], 'empty')).rejects.toThrow(TicketChartError);
    const message = /packages\/lottery-ticket\/src\/chart\.ts: points is empty/;
    await expect(ticketChart([], 'empty')).rejects.toThrow(message);
  });

  it('accepts the good point alone', async () => {
    await expect(ticketChart([good], 'one point')).resolves.toMatch(/^<svg/);
  });
});
