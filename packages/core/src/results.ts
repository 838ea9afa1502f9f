import { stringify } from 'csv-stringify/sync';

/**
 * The one result schema every method writes: a row per (model, variant, seed) with our accuracies and the
 * paper's for the same row. Accuracies are top-1 % on the test set (best epoch, as the seed reports).
 */
export const RESULT_COLUMNS = [
  'method', 'model', 'dataset', 'variant', 'profile', 'backend', 'threads', 'seed',
  'params', 'flops', 'pruned_params', 'pruned_flops', 'params_reduction_pct', 'flops_reduction_pct',
  'acc_baseline', 'acc_finetuned', 'acc_scratch_e', 'acc_scratch_b',
  'epochs_baseline', 'epochs_finetune', 'epochs_scratch_b',
  'paper_acc_baseline', 'paper_acc_finetuned', 'paper_acc_scratch_e', 'paper_acc_scratch_b', 'paper_source',
  'train_seconds',
] as const;

export type ResultRow = Record<(typeof RESULT_COLUMNS)[number], string | number | null>;

export function resultsCsv(rows: ResultRow[]): string {
  return stringify(rows.map((r) => RESULT_COLUMNS.map((c) => r[c] ?? '')), { header: true, columns: [...RESULT_COLUMNS] });
}

const fmt = (v: string | number | null, digits = 2) =>
  v === null || v === '' ? '–' : typeof v === 'number' ? (Number.isInteger(v) ? String(v) : v.toFixed(digits)) : v;

/** A Markdown table of the accuracy columns, ours beside the paper's ("ours / paper"). */
export function resultsMarkdown(rows: ResultRow[]): string {
  const head = ['model', 'variant', 'profile', 'seed', 'FLOPs ↓%', 'baseline', 'fine-tuned', 'Scratch-E', 'Scratch-B'];
  const pair = (ours: string | number | null, paper: string | number | null) => `${fmt(ours)} / ${fmt(paper)}`;
  const lines = rows.map((r) => [
    `${r.model} (${r.dataset})`, String(r.variant), String(r.profile), String(r.seed), fmt(r.flops_reduction_pct, 1),
    pair(r.acc_baseline, r.paper_acc_baseline), pair(r.acc_finetuned, r.paper_acc_finetuned),
    pair(r.acc_scratch_e, r.paper_acc_scratch_e), pair(r.acc_scratch_b, r.paper_acc_scratch_b),
  ]);
  return [head, head.map(() => '---'), ...lines].map((l) => `| ${l.join(' | ')} |`).join('\n');
}
