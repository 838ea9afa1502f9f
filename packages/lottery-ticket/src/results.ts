import { mean, sampleStd, type ResultRow } from '@rethink-prune/core';
import type { TicketInit, TicketPoint } from './chart';
import { TICKET_VARIANTS } from './variants';

/** The two scratch starts a ticket row holds: the winning ticket (saved init) and the random re-init (fresh). */
const ACCURACY: Record<TicketInit, 'acc_scratch_e_saved_init' | 'acc_scratch_e'> = {
  'winning ticket': 'acc_scratch_e_saved_init',
  'random init': 'acc_scratch_e',
};

/** The seeds of one (variant, LR, round): their rows, in order. */
function groups(rows: ResultRow[]): ResultRow[][] {
  const byKey = new Map<string, ResultRow[]>();
  for (const row of rows.filter((r) => r.row_kind === 'run')) {
    const key = JSON.stringify([row.variant, row.lr, row.round]);
    byKey.set(key, [...(byKey.get(key) ?? []), row]);
  }
  return [...byKey.values()];
}

/** Mean and (with several seeds) sample std of a column; NaN where a row has no value (a compact ticket's sparsity). */
function summary(rows: ResultRow[], column: keyof ResultRow): { mean: number; std?: number } {
  const values = rows.map((row) => (typeof row[column] === 'number' ? Number(row[column]) : NaN));
  return values.length > 1 ? { mean: mean(values), std: sampleStd(values) } : { mean: values[0] };
}

const cell = ({ mean: m, std }: { mean: number; std?: number }) =>
  (Number.isNaN(m) ? '–' : std === undefined ? m.toFixed(2) : `${m.toFixed(2)} ± ${std.toFixed(2)}`);

/**
 * The comparison as the paper draws it, one line per (variant, LR, round): the winning ticket's and the random
 * re-init's top-1 side by side, their difference, and the unpruned baseline trained at that LR.
 */
export function ticketsMarkdown(rows: ResultRow[]): string {
  const lines = [
    '| variant | LR | round | conv weights pruned (%) | winning ticket | random init | ticket − random | baseline |',
    '|---|---|---|---|---|---|---|---|',
  ];
  for (const group of groups(rows)) {
    const first = group[0];
    const [ticket, random] = [summary(group, ACCURACY['winning ticket']), summary(group, ACCURACY['random init'])];
    const difference = ticket.mean - random.mean;
    lines.push(`| ${first.variant} | ${first.lr} | ${first.round} | ${cell(summary(group, 'sparsity_pct'))} | ` +
      `${cell(ticket)} | ${cell(random)} | ${difference >= 0 ? '+' : ''}${difference.toFixed(2)} | ` +
      `${cell(summary(group, 'acc_baseline'))} |`);
  }
  return lines.join('\n');
}

/** The panel a variant's points go to: `vgg16-iterative (unstructured, iterative)`. */
function panelOf(name: string): string {
  const variant = TICKET_VARIANTS[name];
  if (!variant) return name;
  const form = variant.kind === 'structured' ? `${variant.form} form, ` : '';
  return `${name} (${variant.kind}, ${form}${variant.schedule})`;
}

/**
 * The chart's points: per (variant, LR, init) the accuracy at each round's sparsity (mean over seeds, std where
 * several), starting from the unpruned baseline at 0% that both inits share. One panel per variant; a compact
 * ticket, whose filters are cut out rather than zeroed, has no conv sparsity to draw against.
 */
export function chartPoints(rows: ResultRow[]): TicketPoint[] {
  const points: TicketPoint[] = [];
  const starts = new Set<string>();
  for (const group of groups(rows.filter((row) => typeof row.sparsity_pct === 'number'))) {
    const first = group[0];
    for (const init of Object.keys(ACCURACY) as TicketInit[]) {
      const base = { panel: panelOf(String(first.variant)), init, lr: Number(first.lr) };
      const withStd = (value: { mean: number; std?: number }) => (value.std === undefined ? {} : { std: value.std });
      const start = JSON.stringify([first.variant, first.lr, init]);
      if (!starts.has(start)) {
        starts.add(start);
        const baseline = summary(group, 'acc_baseline');
        points.push({ ...base, sparsity: 0, accuracy: baseline.mean, ...withStd(baseline) });
      }
      const accuracy = summary(group, ACCURACY[init]);
      points.push({ ...base, sparsity: summary(group, 'sparsity_pct').mean, accuracy: accuracy.mean, ...withStd(accuracy) });
    }
  }
  return points;
}
