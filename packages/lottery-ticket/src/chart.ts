/**
 * Winning ticket vs random re-init, accuracy against sparsity (the paper's v2 Figures 6-7), as SVG text.
 */
import { CHART_FONT, vegaLiteSvg } from '@rethink-prune/core';
// vega-lite's types sit behind its `exports` map, which our moduleResolution ("node") cannot read
import type * as VegaLite from 'vega-lite/build/index';

export type TicketInit = 'winning ticket' | 'random init';

/** One point: a panel (one per model/pruning kind/schedule, e.g. 'vgg16 unstructured iterative'), a series
 *  (init × lr), x = % of conv weights pruned, y = top-1 accuracy (%), std across seeds where > 1 seed. */
export interface TicketPoint {
  panel: string; init: TicketInit; lr: number; sparsity: number; accuracy: number; std?: number;
}

/** Fixed per init so every chart reads the same (matplotlib's tab10 red and blue). */
export const TICKET_COLOURS: Readonly<Record<TicketInit, string>> = {
  'winning ticket': '#d62728',
  'random init': '#1f77b4',
};

/** Size of one panel's plot area; the image grows by one panel width per panel. */
export const PANEL_WIDTH = 260;
export const PANEL_HEIGHT = 220;

const INIT_ORDER: TicketInit[] = ['winning ticket', 'random init'];
// solid for the largest LR, then dashed, dotted, dash-dot: the legend order is the dash order
const LR_DASHES: number[][] = [[1, 0], [6, 4], [2, 2], [8, 3, 2, 3]];
const X_AXIS_TITLE = 'Conv weights pruned (%)';
const Y_AXIS_TITLE = 'Top-1 accuracy (%)';

export class TicketChartError extends Error {
  constructor(field: string, problem: string, fix: string) {
    super(`packages/lottery-ticket/src/chart.ts: ${field} ${problem}; ${fix}`);
    this.name = 'TicketChartError';
  }
}

/** The legend text of a learning rate, e.g. "LR 0.1". */
function lrLabel(lr: number): string {
  return `LR ${lr}`;
}

function checkPoints(points: TicketPoint[]): void {
  if (points.length === 0) throw new TicketChartError('points', 'is empty', 'pass at least one result row');
  points.forEach((point, index) => {
    const at = `points[${index}]`;
    if (typeof point.panel !== 'string' || point.panel.trim() === '') {
      throw new TicketChartError(`${at}.panel`, `is "${point.panel}"`, 'name the model and pruning kind');
    }
    if (!INIT_ORDER.includes(point.init)) {
      throw new TicketChartError(`${at}.init`, `is "${point.init}"`, `use one of ${INIT_ORDER.join(', ')}`);
    }
    if (!Number.isFinite(point.lr) || point.lr <= 0) {
      const fix = 'give the initial learning rate, a number > 0';
      throw new TicketChartError(`${at}.lr`, `is ${point.lr}`, fix);
    }
    // a fraction (0.5) instead of a percentage (50) would still pass; the range catches the rest
    if (!Number.isFinite(point.sparsity) || point.sparsity < 0 || point.sparsity > 100) {
      throw new TicketChartError(`${at}.sparsity`, `is ${point.sparsity}`, 'give a percentage from 0 to 100');
    }
    if (!Number.isFinite(point.accuracy)) {
      const fix = 'give a finite top-1 accuracy (%)';
      throw new TicketChartError(`${at}.accuracy`, `is ${point.accuracy}`, fix);
    }
    if (point.std !== undefined && (!Number.isFinite(point.std) || point.std < 0)) {
      const fix = 'give a finite number >= 0, or leave it out';
      throw new TicketChartError(`${at}.std`, `is ${point.std}`, fix);
    }
  });
}

/** The Vega-Lite spec: a column per panel, each holding line+point series and std error bars. */
function ticketSpec(points: TicketPoint[], title: string): VegaLite.TopLevelSpec {
  const panels = [...new Set(points.map((point) => point.panel))];
  const presentInits = INIT_ORDER.filter((init) => points.some((point) => point.init === init));
  const lrsDescending = [...new Set(points.map((point) => point.lr))].sort((left, right) => right - left);
  const lrLabels = lrsDescending.map(lrLabel);
  const xEncoding = { field: 'sparsity', type: 'quantitative', title: X_AXIS_TITLE } as const;
  const yEncoding = {
    field: 'accuracy', type: 'quantitative', title: Y_AXIS_TITLE, scale: { zero: false },
  } as const;
  // explicit domains keep absent inits and LRs out of the legend and the colours and dashes fixed
  const colour = {
    field: 'init', type: 'nominal', title: 'Initialisation',
    scale: { domain: presentInits, range: presentInits.map((init) => TICKET_COLOURS[init]) },
  } as const;
  const dash = {
    field: 'lrLabel', type: 'nominal', title: 'Initial LR',
    // the default 10-pixel swatch is too short to show a dash
    legend: { symbolSize: 400 },
    scale: { domain: lrLabels, range: lrLabels.map((_, index) => LR_DASHES[index % LR_DASHES.length]) },
  } as const;
  const withStd = { filter: 'isValid(datum.std)' };
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: { text: title, anchor: 'start', fontSize: 12 },
    config: { font: CHART_FONT },
    data: { values: points.map((point) => ({ ...point, lrLabel: lrLabel(point.lr) })) },
    // panels in the order the caller lists them, not alphabetical
    facet: { column: { field: 'panel', type: 'nominal', title: null, sort: panels } },
    // models differ in accuracy; the comparison that matters is within a panel
    resolve: { scale: { y: 'independent' } },
    spec: {
      width: PANEL_WIDTH,
      height: PANEL_HEIGHT,
      layer: [
        {
          mark: { type: 'line', strokeWidth: 1.5 },
          // order sorts each series by x, so a line never doubles back
          encoding: {
            x: xEncoding, y: yEncoding, color: colour, strokeDash: dash,
            order: { field: 'sparsity', type: 'quantitative' },
          },
        },
        {
          mark: { type: 'point', filled: true, size: 30 },
          encoding: { x: xEncoding, y: yEncoding, color: colour },
        },
        {
          transform: [
            withStd,
            { calculate: 'datum.accuracy - datum.std', as: 'low' },
            { calculate: 'datum.accuracy + datum.std', as: 'high' },
          ],
          mark: { type: 'rule', strokeWidth: 1 },
          encoding: { x: xEncoding, y: { ...yEncoding, field: 'low' }, y2: { field: 'high' }, color: colour },
        },
      ],
    },
  };
}

/** SVG of top-1 accuracy against % conv weights pruned: a column per panel, colour = init, dash = LR. */
export async function ticketChart(points: TicketPoint[], title: string): Promise<string> {
  checkPoints(points);
  return vegaLiteSvg(ticketSpec(points, title));
}
