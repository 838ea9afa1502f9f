import { stringify } from 'csv-stringify/sync';
import { mean, sampleStd } from '@rethink-prune/core';
import type { TicketPoint } from './chart';
import type { TicketInit, TicketRow } from './experiment';

/** The CSV's columns, in order: one row per (model, pruning kind, LR, init, round) and seed. */
export const TICKET_COLUMNS: ReadonlyArray<keyof TicketRow> = [
  'method', 'dataset', 'model', 'variant', 'kind', 'form', 'schedule', 'profile', 'seed', 'lr', 'round', 'init',
  'sparsity_pct', 'params', 'flops', 'acc_top1', 'acc_final', 'acc_baseline', 'epochs', 'backend', 'threads',
  'train_seconds',
];

export function ticketsCsv(rows: TicketRow[]): string {
  return stringify(rows.map((row) => TICKET_COLUMNS.map((column) => row[column])),
    { header: true, columns: [...TICKET_COLUMNS] });
}

/** The seeds of one (variant, LR, round, init): their rows, in order. */
function groups(rows: TicketRow[]): TicketRow[][] {
  const byKey = new Map<string, TicketRow[]>();
  for (const row of rows) {
    const key = JSON.stringify([row.variant, row.lr, row.round, row.init]);
    byKey.set(key, [...(byKey.get(key) ?? []), row]);
  }
  return [...byKey.values()];
}

/** Mean and (with several seeds) sample std of a column. */
function summary(rows: TicketRow[], column: 'acc_top1' | 'acc_baseline' | 'sparsity_pct'): { mean: number; std?: number } {
  const values = rows.map((row) => row[column]);
  return values.length > 1 ? { mean: mean(values), std: sampleStd(values) } : { mean: values[0] };
}

const cell = ({ mean: m, std }: { mean: number; std?: number }) =>
  (std === undefined ? m.toFixed(2) : `${m.toFixed(2)} ± ${std.toFixed(2)}`);

/**
 * The comparison as the paper draws it, one line per (variant, LR, round): the winning ticket's and the random
 * re-init's top-1 side by side, their difference, and the unpruned baseline trained at that LR.
 */
export function ticketsMarkdown(rows: TicketRow[]): string {
  const lines = [
    '| variant | LR | round | conv weights pruned (%) | winning ticket | random init | ticket − random | baseline |',
    '|---|---|---|---|---|---|---|---|',
  ];
  const all = groups(rows);
  const ticketGroups = all.filter((group) => group[0].init === 'winning ticket');
  for (const ticket of ticketGroups) {
    const first = ticket[0];
    const random = all.find((group) => group[0].init === 'random init' && group[0].variant === first.variant &&
      group[0].lr === first.lr && group[0].round === first.round);
    if (!random) continue;
    const [ticketAcc, randomAcc] = [summary(ticket, 'acc_top1'), summary(random, 'acc_top1')];
    const difference = ticketAcc.mean - randomAcc.mean;
    lines.push(`| ${first.variant} | ${first.lr} | ${first.round} | ${cell(summary(ticket, 'sparsity_pct'))} | ` +
      `${cell(ticketAcc)} | ${cell(randomAcc)} | ${difference >= 0 ? '+' : ''}${difference.toFixed(2)} | ` +
      `${cell(summary(ticket, 'acc_baseline'))} |`);
  }
  return lines.join('\n');
}

/** The panel a variant's points go to: `vgg16-iterative (unstructured, iterative)`. */
const panelOf = (row: TicketRow) =>
  `${row.variant} (${row.kind}, ${row.kind === 'structured' ? `${row.form} form` : row.schedule})`;

/**
 * The chart's points: per (variant, LR, init) the accuracy at each round's sparsity (mean over seeds, std where
 * several), starting from the unpruned baseline at 0% that both inits share.
 */
export function chartPoints(rows: TicketRow[]): TicketPoint[] {
  const points: TicketPoint[] = [];
  const starts = new Set<string>();
  for (const group of groups(rows)) {
    const first = group[0];
    const start = JSON.stringify([first.variant, first.lr, first.init]);
    const withStd = (value: { mean: number; std?: number }) => (value.std === undefined ? {} : { std: value.std });
    const base = { panel: panelOf(first), init: first.init as TicketInit, lr: first.lr };
    if (!starts.has(start)) {
      starts.add(start);
      const baseline = summary(group, 'acc_baseline');
      points.push({ ...base, sparsity: 0, accuracy: baseline.mean, ...withStd(baseline) });
    }
    const accuracy = summary(group, 'acc_top1');
    points.push({ ...base, sparsity: summary(group, 'sparsity_pct').mean, accuracy: accuracy.mean, ...withStd(accuracy) });
  }
  return points;
}
