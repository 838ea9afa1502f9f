import { Resvg } from '@resvg/resvg-js';
// the one chart renderer, by path: tools runs from source, without core's build
import { CHART_FONT, vegaLiteSvg } from '../../packages/core/src/chart';
// vega-lite's types sit behind its `exports` map, which our moduleResolution ("node") cannot read
import type * as VegaLite from 'vega-lite/build/index';

export type Regime = 'unpruned' | 'fine-tuned' | 'Scratch-E' | 'Scratch-B';

/** One result: a regime's top-1 accuracy (%) for a variant, with its size; std is across seeds. */
export interface ChartPoint {
  regime: Regime; variant: string; flops: number; params: number; accuracy: number; std?: number;
}

export interface AccuracyChartOptions { x: 'flops' | 'params'; title: string }

/** Fixed per regime so every chart reads the same (matplotlib's tab10 blue, orange, green, grey). */
export const REGIME_COLOURS: Readonly<Record<Regime, string>> = {
  'fine-tuned': '#1f77b4',
  'Scratch-E': '#ff7f0e',
  'Scratch-B': '#2ca02c',
  unpruned: '#7f7f7f',
};

export const CHART_WIDTH = 480;
export const CHART_HEIGHT = 320;

const REGIME_ORDER: Regime[] = ['unpruned', 'fine-tuned', 'Scratch-E', 'Scratch-B'];
const X_AXIS_TITLES = { flops: 'FLOPs', params: 'Parameters' } as const;
const Y_AXIS_TITLE = 'Top-1 accuracy (%)';

export class ChartDataError extends Error {
  constructor(field: string, problem: string, fix: string) {
    super(`tools/report/chart.ts: ${field} ${problem}; ${fix}`);
    this.name = 'ChartDataError';
  }
}

function checkPoints(points: ChartPoint[], xField: 'flops' | 'params'): void {
  if (points.length === 0) throw new ChartDataError('points', 'is empty', 'pass at least one result row');
  points.forEach((point, index) => {
    for (const field of [xField, 'accuracy'] as const) {
      if (!Number.isFinite(point[field])) {
        throw new ChartDataError(`points[${index}].${field}`, `is ${point[field]}`, 'give a finite number');
      }
    }
    if (!REGIME_ORDER.includes(point.regime)) {
      const fix = `use one of ${REGIME_ORDER.join(', ')}`;
      throw new ChartDataError(`points[${index}].regime`, `is "${point.regime}"`, fix);
    }
  });
}

/** The Vega-Lite spec: pruned regimes as line+point series, unpruned as a dashed rule, std as error bars. */
function accuracySpec(points: ChartPoint[], options: AccuracyChartOptions): VegaLite.TopLevelSpec {
  const presentRegimes = REGIME_ORDER.filter((regime) => points.some((point) => point.regime === regime));
  const xEncoding = {
    field: options.x, type: 'quantitative', title: X_AXIS_TITLES[options.x], axis: { format: '.2~s' },
  } as const;
  // padding keeps an unpruned rule at the top off the plot's border
  const yEncoding = {
    field: 'accuracy', type: 'quantitative', title: Y_AXIS_TITLE, scale: { zero: false, padding: 12 },
  } as const;
  const colour = {
    field: 'regime',
    type: 'nominal' as const,
    title: 'Regime',
    // an explicit domain keeps absent regimes out of the legend and the colours fixed
    scale: { domain: presentRegimes, range: presentRegimes.map((regime) => REGIME_COLOURS[regime]) },
  };
  const pruned = { filter: "datum.regime !== 'unpruned'" };
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    // start-anchored and small, so a long method and model name is not cut at the left edge
    title: { text: options.title, anchor: 'start', fontSize: 12 },
    width: CHART_WIDTH,
    height: CHART_HEIGHT,
    // 'fit' makes width/height the size of the whole image, axes and legend included
    autosize: { type: 'fit', contains: 'padding' },
    // resvg reads 'sans-serif' as Arial only
    config: { font: CHART_FONT },
    data: { values: points.map((point) => ({ ...point })) },
    layer: [
      {
        transform: [pruned],
        mark: { type: 'line', point: true },
        // order sorts each series by x, so a line never doubles back
        encoding: {
          x: xEncoding, y: yEncoding, color: colour, order: { field: options.x, type: 'quantitative' },
        },
      },
      {
        transform: [
          pruned,
          { filter: 'isValid(datum.std)' },
          { calculate: 'datum.accuracy - datum.std', as: 'low' },
          { calculate: 'datum.accuracy + datum.std', as: 'high' },
        ],
        mark: { type: 'errorbar', ticks: true },
        encoding: { x: xEncoding, y: { ...yEncoding, field: 'low' }, y2: { field: 'high' }, color: colour },
      },
      {
        transform: [{ filter: "datum.regime === 'unpruned'" }],
        mark: { type: 'rule', strokeDash: [6, 4], strokeWidth: 1.5 },
        encoding: { y: yEncoding, color: colour },
      },
      // the unpruned model also as a point at its own size, so the x axis spans unpruned to pruned
      {
        transform: [{ filter: "datum.regime === 'unpruned'" }],
        mark: { type: 'point', filled: true, size: 50 },
        encoding: { x: xEncoding, y: yEncoding, color: colour },
      },
    ],
  };
}

/** SVG of top-1 accuracy against FLOPs or parameters, one series per regime present, 480 x 320. */
export async function accuracyChart(points: ChartPoint[], options: AccuracyChartOptions): Promise<string> {
  checkPoints(points, options.x);
  return vegaLiteSvg(accuracySpec(points, options));
}

/** PNG bytes of an SVG at its own size, text drawn with the system fonts; `pixels` is the RGBA buffer. */
export function svgToPng(svg: string): { png: Buffer; width: number; height: number; pixels: Uint8Array } {
  const rendered = new Resvg(svg, { font: { loadSystemFonts: true } }).render();
  return { png: rendered.asPng(), width: rendered.width, height: rendered.height, pixels: rendered.pixels };
}

