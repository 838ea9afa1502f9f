// vega-lite's types sit behind its `exports` map, which our moduleResolution ("node") cannot read
import type * as VegaLite from 'vega-lite/build/index';
import { CHART_FONT, vegaLiteSvg } from '../../packages/core/src/chart';
import { REGIME_COLOURS } from '../report/chart';
import { regimesOf, regimeTitle, type ComparisonName, type EvidenceRow } from './evidence';
import type { Study } from './studies';

interface DifferencePoint {
  row: string;
  comparison: ComparisonName;
  source: 'ours (95% CI)' | 'paper';
  difference: number;
  low?: number;
  high?: number;
  /** A paper point from the ImageNet row a CIFAR analogue stands in for. */
  paperRow?: string;
}

/** Every comparison of the rows as a point: ours with its interval, the paper's printed difference beside it. */
export function differencePoints(rows: EvidenceRow[], label: (r: EvidenceRow) => string): DifferencePoint[] {
  return rows.flatMap((r) => r.comparisons.flatMap((c) => {
    const ours: DifferencePoint = { row: label(r), comparison: c.name, source: 'ours (95% CI)',
      difference: c.ours.mean, ...(Number.isFinite(c.ours.low) ? { low: c.ours.low, high: c.ours.high } : {}) };
    const paper: DifferencePoint[] = c.paper
      ? [{ row: label(r), comparison: c.name, source: 'paper', difference: c.paper.difference,
        ...(c.paper.row ? { paperRow: c.paper.row } : {}) }] : [];
    return [ours, ...paper];
  }));
}

/** The random-init comparison's colour (the Scratch regimes take the report's). */
const RANDOM_INIT_COLOUR = '#7b3294';

/** One view of a chart (width, height, data and layers), put in a top-level spec by differenceChart. */
type Panel = Record<string, unknown>;

interface AccuracyPoint {
  row: string;
  /** The table's name of the regime: baseline, fine-tuned, Scratch-E, Scratch-B (winning ticket, random init). */
  regime: string;
  mean: number;
  /** Mean ∓ the standard deviation over the seeds, where there are two or more. */
  low?: number;
  high?: number;
}

/** Each row's accuracies, regime by regime as its study's table has them, with ± one standard deviation. */
export function accuracyPoints(s: Study, rows: EvidenceRow[], label: (r: EvidenceRow) => string): AccuracyPoint[] {
  return rows.flatMap((r) => regimesOf(s).flatMap((regime) => {
    const { mean, std } = r.accuracy[regime];
    if (mean === null) return [];
    return [{ row: label(r), regime: regimeTitle(s, regime), mean,
      ...(std === null || r.seeds.length < 2 ? {} : { low: mean - std, high: mean + std }) }];
  }));
}

const ACCURACY_COLOURS: Record<string, string> = { baseline: REGIME_COLOURS.unpruned, 'fine-tuned': REGIME_COLOURS['fine-tuned'],
  'Scratch-E': REGIME_COLOURS['Scratch-E'], 'Scratch-B': REGIME_COLOURS['Scratch-B'],
  'winning ticket': REGIME_COLOURS['fine-tuned'], 'random init': RANDOM_INIT_COLOUR };

/**
 * The rows along x in the points' order (the table's), named as the domain: left to vega, a row that first shows up
 * in a later layer (one seed: no error bar) would go last. A label is written whole (vega's default cuts it at
 * 180 px with '…', which left 'vgg16-iterative LR 0.…' for six rows that differ in their LR and round).
 */
const rowAxis = (points: Array<{ row: string }>) => ({ field: 'row', type: 'nominal', title: null,
  scale: { domain: [...new Set(points.map((p) => p.row))] },
  axis: { labelAngle: -30, labelLimit: 0 } } as const);

/** Top-1 per row and regime: the mean over the seeds with ± one standard deviation as error bars. */
function accuracyPanel(points: AccuracyPoint[]): Panel {
  const regimes = [...new Set(points.map((p) => p.regime))];
  const colour = { field: 'regime', type: 'nominal', title: 'top-1 of',
    scale: { domain: regimes, range: regimes.map((regime) => ACCURACY_COLOURS[regime]) } } as const;
  const x = rowAxis(points);
  const offset = { field: 'regime', type: 'nominal', scale: { domain: regimes } } as const;
  const y = { field: 'mean', type: 'quantitative', title: 'top-1 %, mean ± std over seeds', scale: { zero: false } } as const;
  return {
    width: Math.max(240, 90 * new Set(points.map((p) => p.row)).size),
    height: 260,
    data: { values: points.map((p) => ({ ...p })) },
    layer: [
      { transform: [{ filter: 'isValid(datum.low)' }], mark: { type: 'errorbar', ticks: true },
        encoding: { x, xOffset: offset, y: { ...y, field: 'low' }, y2: { field: 'high' }, color: colour } },
      { mark: { type: 'point', size: 60, filled: true, shape: 'square' }, encoding: { x, xOffset: offset, y, color: colour } },
    ],
  };
}

/**
 * Scratch − fine-tuned (points) per row and regime, ours with 95% error bars and the paper's as open shapes, and a
 * rule at zero: above it training from scratch did at least as well as fine-tuning (for lottery tickets: random
 * init − winning ticket; above zero the ticket did not help).
 */
function differencePanel(points: DifferencePoint[], yTitle: string): Panel {
  const comparisons = (['Scratch-E', 'Scratch-B', 'Random init'] as const).filter((c) => points.some((p) => p.comparison === c));
  const colourOf = (c: ComparisonName) => (c === 'Random init' ? RANDOM_INIT_COLOUR : REGIME_COLOURS[c]);
  const colour = { field: 'comparison', type: 'nominal', title: 'compared',
    scale: { domain: comparisons, range: comparisons.map(colourOf) } } as const;
  const x = rowAxis(points);
  const offset = { field: 'comparison', type: 'nominal', scale: { domain: comparisons } } as const;
  const y = { field: 'difference', type: 'quantitative', title: yTitle } as const;
  return {
    width: Math.max(240, 70 * new Set(points.map((p) => p.row)).size),
    height: 260,
    data: { values: points.map((p) => ({ ...p })) },
    layer: [
      { data: { values: [{ zero: 0 }] }, mark: { type: 'rule', color: '#444', strokeDash: [4, 3] },
        encoding: { y: { field: 'zero', type: 'quantitative' } } },
      { transform: [{ filter: 'isValid(datum.low)' }], mark: { type: 'errorbar', ticks: true },
        encoding: { x, xOffset: offset, y: { ...y, field: 'low' }, y2: { field: 'high' }, color: colour } },
      { transform: [{ filter: "datum.source !== 'paper'" }], mark: { type: 'point', size: 70, filled: true, shape: 'circle' },
        encoding: { x, xOffset: offset, y, color: colour } },
      { transform: [{ filter: "datum.source === 'paper'" }], mark: { type: 'point', size: 70, filled: false, shape: 'diamond', strokeWidth: 2 },
        encoding: { x, xOffset: offset, y, color: colour } },
    ],
  };
}

/**
 * The differences (differencePanel) as an SVG; with `accuracies`, the accuracies they come from (accuracyPanel) to
 * their left.
 */
export async function differenceChart(points: DifferencePoint[], title: string,
  yTitle = 'scratch − fine-tuned, top-1 points', accuracies: AccuracyPoint[] = []): Promise<string> {
  if (points.length === 0) throw new Error('differenceChart: no comparisons to draw');
  const differences = 'filled circles: ours, mean with 95% interval over seeds; open diamonds: the paper\'s printed ' +
    `difference${points.some((p) => p.paperRow) ? ' (a CIFAR analogue: its ImageNet row\'s)' : ''}`;
  const head = {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: { text: title, anchor: 'start', fontSize: 12,
      subtitle: accuracies.length > 0 ? [`left, squares: top-1, mean ± std over seeds; right, ${differences}`] : differences },
    config: { font: CHART_FONT },
  } as const;
  const spec = (accuracies.length > 0
    ? { ...head, hconcat: [accuracyPanel(accuracies), differencePanel(points, yTitle)], resolve: { scale: { color: 'independent', xOffset: 'independent' } } }
    : { ...head, ...differencePanel(points, yTitle) }) as VegaLite.TopLevelSpec;
  return vegaLiteSvg(spec);
}
