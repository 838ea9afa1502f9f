import { stringify } from 'csv-stringify/sync';
import { mean, sampleStd } from './stats';

/**
 * The one result schema every method writes: a row per (model, variant, seed) with our accuracies and the
 * paper's for the same row. Accuracies are top-1 % on the test set (best epoch, as the seed reports).
 * `row_kind` is `run` for a trained seed; with several seeds, `mean` and `std` rows follow each (model,
 * variant), as the paper reports CIFAR numbers (mean ± std of 5 runs). `baseline_seconds` is the training
 * time of the baseline that the variants of a model share; `train_seconds` is the variant's own stages (the epochs
 * Scratch-B takes from Scratch-E's state counted once, in Scratch-E).
 * `acc_baseline_plain` is the baseline trained without the method's hooks, where the pruned one had them
 * (slimming: `acc_baseline` is the sparsity-trained model that was pruned). `latency_ms_b1` / `_b64` are the
 * measured inference times (median, ms per batch of 1 / 64) of the trained baseline and the pruned model on
 * `latency_backend`: FLOPs saved are not time saved, and a masked model runs dense kernels. `lr` is the initial LR
 * of the baseline and scratch runs; `round` the prune round of a method with rounds (else empty). The `_saved_init`
 * accuracies are scratch runs from the baseline's own initial weights (winning tickets), where a method trains them.
 */
export const RESULT_COLUMNS = [
  'row_kind',
  'method',
  'model',
  'dataset',
  'variant',
  'profile',
  'lr',
  'round',
  'backend',
  'threads',
  'seed',
  'params',
  'flops',
  'pruned_params',
  'pruned_flops',
  'params_reduction_pct',
  'flops_reduction_pct',
  'sparsity_pct',
  'latency_backend',
  'latency_ms_b1',
  'pruned_latency_ms_b1',
  'latency_ms_b64',
  'pruned_latency_ms_b64',
  'acc_before_finetune',
  'acc_baseline',
  'acc_baseline_plain',
  'acc_finetuned',
  'acc_scratch_e',
  'acc_scratch_b',
  'acc_scratch_e_saved_init',
  'acc_scratch_b_saved_init',
  'epochs_baseline',
  'epochs_finetune',
  'epochs_scratch_e',
  'epochs_scratch_b',
  'paper_acc_baseline',
  'paper_acc_finetuned',
  'paper_acc_scratch_e',
  'paper_acc_scratch_b',
  'paper_source',
  'baseline_seconds',
  'train_seconds',
] as const;

export type ResultColumn = (typeof RESULT_COLUMNS)[number];
export type ResultRow = Record<ResultColumn, string | number | null>;

/** The columns that differ between seeds of one experiment and are summarised as mean and std. */
const MEASURED = RESULT_COLUMNS.filter((c) => /^acc_|latency_ms|_seconds$/.test(c));

const round2 = (x: number) => Math.round(x * 100) / 100;

/** The run rows of each experiment (method, dataset, model, variant, profile, LR, round), in first-seen order. */
export function experiments(rows: ResultRow[]): ResultRow[][] {
  const groups = new Map<string, ResultRow[]>();
  for (const r of rows.filter((row) => row.row_kind === 'run')) {
    const key = [r.method, r.dataset, r.model, r.variant, r.profile, r.lr, r.round].join('\u0000');
    groups.set(key, [...(groups.get(key) ?? []), r]);
  }
  return [...groups.values()];
}

/** For each experiment run with several seeds, a `mean` and a `std` row of the measured columns. */
export function summaryRows(rows: ResultRow[]): ResultRow[] {
  return experiments(rows)
    .filter((runs) => runs.length > 1)
    .flatMap((runs) => {
      const seeds = runs.map((r) => r.seed).join(' ');
      return (['mean', 'std'] as const).map((kind) => {
        const row: ResultRow = { ...runs[0], row_kind: kind, seed: seeds };
        for (const c of MEASURED) {
          const values = runs.map((r) => r[c]).filter((v): v is number => typeof v === 'number');
          row[c] =
            values.length === runs.length ? round2(kind === 'mean' ? mean(values) : sampleStd(values)) : null;
        }
        return row;
      });
    });
}

/** The CSV of run rows followed by their summary rows. */
export function resultsCsv(rows: ResultRow[]): string {
  const all = [...rows, ...summaryRows(rows)];
  return stringify(
    all.map((r) => RESULT_COLUMNS.map((c) => r[c] ?? '')),
    { header: true, columns: [...RESULT_COLUMNS] },
  );
}

const fmt = (v: string | number | null | undefined, digits = 2) =>
  v === null || v === undefined || v === ''
    ? '–'
    : typeof v === 'number'
      ? Number.isInteger(v)
        ? String(v)
        : v.toFixed(digits)
      : v;

/** Measured speed-up of the pruned model (unpruned time / pruned time), mean over seeds: `1.84×`. */
function speedup(runs: ResultRow[], batch: 'b1' | 'b64'): string {
  const ratios = runs.map((r) => Number(r[`latency_ms_${batch}`]) / Number(r[`pruned_latency_ms_${batch}`]))
    .filter(Number.isFinite);
  return ratios.length === 0 ? '–' : `${mean(ratios).toFixed(2)}×`;
}

/**
 * A Markdown table of the accuracy columns, ours beside the paper's ("ours / paper"); one line per experiment,
 * ours as mean ± std (sample std) where several seeds ran.
 */
export function resultsMarkdown(rows: ResultRow[]): string {
  const has = (column: ResultColumn) => rows.some((r) => typeof r[column] === 'number');
  const plain = has('acc_baseline_plain');
  const lrAxis = new Set(rows.map((r) => r.lr)).size > 1;
  const savedInit = (['acc_scratch_e_saved_init', 'acc_scratch_b_saved_init'] as const).filter(has);
  const head = [
    'model',
    'variant',
    'profile',
    ...(lrAxis ? ['LR'] : []),
    ...(has('round') ? ['round'] : []),
    'seeds',
    'FLOPs ↓%',
    'speed-up b1 / b64',
    ...(plain ? ['baseline (plain)'] : []),
    'baseline',
    'fine-tuned',
    'Scratch-E',
    'Scratch-B',
    ...savedInit.map((c) => (c === 'acc_scratch_e_saved_init' ? 'Scratch-E from the saved init' : 'Scratch-B from the saved init')),
  ];
  const cell = (runs: ResultRow[], ours: ResultColumn, paper?: ResultColumn) => {
    const values = runs.map((r) => r[ours]).filter((v): v is number => typeof v === 'number');
    const measured =
      values.length === 0
        ? '–'
        : values.length === 1
          ? values[0].toFixed(2)
          : `${mean(values).toFixed(2)} ± ${sampleStd(values).toFixed(2)}`;
    return paper ? `${measured} / ${fmt(runs[0][paper])}` : measured;
  };
  const lines = experiments(rows).map((runs) => {
    const r = runs[0];
    return [
      `${r.model} (${r.dataset})`,
      String(r.variant),
      String(r.profile),
      ...(lrAxis ? [String(r.lr)] : []),
      ...(has('round') ? [fmt(r.round)] : []),
      runs.map((x) => x.seed).join(', '),
      fmt(r.flops_reduction_pct, 1),
      `${speedup(runs, 'b1')} / ${speedup(runs, 'b64')}`,
      ...(plain ? [cell(runs, 'acc_baseline_plain', 'paper_acc_baseline')] : []),
      cell(runs, 'acc_baseline', 'paper_acc_baseline'),
      cell(runs, 'acc_finetuned', 'paper_acc_finetuned'),
      cell(runs, 'acc_scratch_e', 'paper_acc_scratch_e'),
      cell(runs, 'acc_scratch_b', 'paper_acc_scratch_b'),
      ...savedInit.map((c) => cell(runs, c)),
    ];
  });
  return markdownTable(head, lines);
}

/** A Markdown table: the header row, its rule, then one row per line of cells. */
export function markdownTable(head: string[], lines: string[][]): string {
  return [head, head.map(() => '---'), ...lines].map((l) => `| ${l.join(' | ')} |`).join('\n');
}
