// vega-lite's types sit behind its `exports` map, which our moduleResolution ("node") cannot read
import type * as VegaLite from 'vega-lite/build/index';
import { CHART_FONT, vegaLiteSvg } from '../../packages/core/src/chart';
import { REGIME_COLOURS } from '../report/chart';
import type { ComparisonName, EvidenceRow } from './evidence';

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

/**
 * Scratch − fine-tuned (points) per row and regime, ours with 95% error bars and the paper's as open shapes, and a
 * rule at zero: above it training from scratch did at least as well as fine-tuning (for lottery tickets: random
 * init − winning ticket; above zero the ticket did not help).
 */
export async function differenceChart(points: DifferencePoint[], title: string,
  yTitle = 'scratch − fine-tuned, top-1 points'): Promise<string> {
  if (points.length === 0) throw new Error('differenceChart: no comparisons to draw');
  const comparisons = (['Scratch-E', 'Scratch-B', 'Random init'] as const).filter((c) => points.some((p) => p.comparison === c));
  const colourOf = (c: ComparisonName) => (c === 'Random init' ? RANDOM_INIT_COLOUR : REGIME_COLOURS[c]);
  const colour = { field: 'comparison', type: 'nominal', title: 'compared',
    scale: { domain: comparisons, range: comparisons.map(colourOf) } } as const;
  const x = { field: 'row', type: 'nominal', title: null, sort: null, axis: { labelAngle: -30 } } as const;
  const offset = { field: 'comparison', type: 'nominal', sort: comparisons } as const;
  const y = { field: 'difference', type: 'quantitative', title: yTitle } as const;
  const spec: VegaLite.TopLevelSpec = {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: { text: title, anchor: 'start', fontSize: 12,
      subtitle: 'filled circles: ours, mean with 95% interval over seeds; open diamonds: the paper\'s printed difference' +
        (points.some((p) => p.paperRow) ? ' (a CIFAR analogue: its ImageNet row\'s)' : '') },
    width: Math.max(240, 70 * new Set(points.map((p) => p.row)).size),
    height: 260,
    config: { font: CHART_FONT },
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
  } as VegaLite.TopLevelSpec;
  return vegaLiteSvg(spec);
}
