import * as fs from 'fs';
import * as path from 'path';
import { parse } from 'csv-parse/sync';
import { stringify } from 'csv-stringify/sync';
// the project's one mean, sample std and Markdown table, by path: tools runs from source, without core's build
import { markdownTable } from '../../packages/core/src/results';
import { mean, sampleStd } from '../../packages/core/src/stats';

/**
 * One report across every method's results: the run rows of each `results-<dataset>.csv` under a runs
 * directory, grouped by experiment (method, dataset, model, variant, profile), ours as mean ± std over seeds
 * beside the paper's number and the difference where the two are comparable.
 */
export type Row = Record<string, string>;

export const REGIMES = [
  { name: 'unpruned', ours: 'acc_baseline', paper: 'paper_acc_baseline' },
  { name: 'fine-tuned', ours: 'acc_finetuned', paper: 'paper_acc_finetuned' },
  { name: 'Scratch-E', ours: 'acc_scratch_e', paper: 'paper_acc_scratch_e' },
  { name: 'Scratch-B', ours: 'acc_scratch_b', paper: 'paper_acc_scratch_b' },
] as const;
export type RegimeName = (typeof REGIMES)[number]['name'];

export interface Cell {
  mean: number | null;
  std: number | null;
  paper: number | null;
  /** ours − paper, only where the paper's number is for the same dataset and the full recipe. */
  diff: number | null;
}

export interface Experiment {
  method: string;
  dataset: string;
  model: string;
  variant: string;
  profile: string;
  seeds: number;
  flops: number;
  prunedFlops: number;
  params: number;
  prunedParams: number;
  flopsReductionPct: number;
  /** Unpruned / pruned measured time, mean over seeds; null where not measured. */
  speedup: { b1: number | null; b64: number | null };
  backend: string;
  /** The rows' backend/threads of training. */
  trainedOn: string;
  sparsityPct: number | null;
  /** The baseline trained with the method's hooks, where the unpruned one is the plain baseline (mean over seeds). */
  hookedBaseline: number | null;
  paperSource: string;
  /** Why the paper's numbers are not compared (quick profile, another dataset), or '' when they are. */
  notComparable: string;
  cells: Record<RegimeName, Cell>;
}

/** Every `results-*.csv` below `dir`, in path order. */
export function findResultFiles(dir: string): string[] {
  if (!fs.existsSync(dir)) throw new Error(`runs directory ${dir} does not exist`);
  const found: string[] = [];
  const walk = (d: string) => {
    for (const entry of fs.readdirSync(d, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
      const full = path.join(d, entry.name);
      if (entry.isDirectory()) walk(full);
      else if (/^results-.+\.csv$/.test(entry.name)) found.push(full);
    }
  };
  walk(dir);
  return found;
}

export function readRows(file: string): Row[] {
  const rows = parse(fs.readFileSync(file, 'utf8'), { columns: true, skip_empty_lines: true }) as Row[];
  const missing = ['row_kind', 'method', 'model', 'dataset', 'variant', 'profile'].filter((c) => rows.length > 0 && !(c in rows[0]));
  if (missing.length > 0) throw new Error(`${file}: not a results table (no column ${missing.join(', ')})`);
  return rows.filter((r) => r.row_kind === 'run');
}

const num = (value: string | undefined) => (value === undefined || value === '' ? null : Number(value));
const round2 = (x: number) => Math.round(x * 100) / 100;

/** The paper's label of a dataset as its tables (and our paper_source) write it. */
const PAPER_DATASETS: Record<string, string> = { cifar10: 'CIFAR-10', cifar100: 'CIFAR-100', imagenet: 'ImageNet' };

function whyNotComparable(r: Row): string {
  if (!r.paper_source) return 'no paper number';
  if (r.profile !== 'paper') return `${r.profile} profile (shorter recipe, narrower model)`;
  const label = PAPER_DATASETS[r.dataset];
  if (!label || !r.paper_source.includes(`${label} /`)) return `the paper's number is for another dataset`;
  return '';
}

function meanOf(runs: Row[], column: string): number | null {
  const values = runs.map((r) => num(r[column])).filter((v): v is number => v !== null && Number.isFinite(v));
  return values.length === runs.length ? mean(values) : null;
}

function speedupOf(runs: Row[], batch: 'b1' | 'b64'): number | null {
  const ratios = runs.map((r) => (num(r[`latency_ms_${batch}`]) ?? NaN) / (num(r[`pruned_latency_ms_${batch}`]) ?? NaN));
  return ratios.every(Number.isFinite) ? round2(mean(ratios)) : null;
}

/**
 * The experiments of a set of run rows, in first-seen order, one per LR where a grid has an LR axis. Rows of prune
 * rounds (lottery tickets: a winning ticket against a random init, no fine-tuning) are not this report's comparison
 * and are left out; lottery-ticket writes its own table.
 */
export function experiments(rows: Row[]): Experiment[] {
  const groups = new Map<string, Row[]>();
  for (const r of rows.filter((row) => row.round === undefined || row.round === '')) {
    const key = [r.method, r.dataset, r.model, r.variant, r.profile, r.lr ?? ''].join('\u0000');
    groups.set(key, [...(groups.get(key) ?? []), r]);
  }
  return [...groups.values()].map((runs) => {
    const first = runs[0];
    const notComparable = whyNotComparable(first);
    // Where a method also trained its baseline with hooks (slimming's sparsity run, SFP's soft-pruned model), the
    // plain baseline is the unpruned model; the hooked one is reported apart.
    const plain = runs.every((r) => num(r.acc_baseline_plain) !== null);
    const column = (regime: (typeof REGIMES)[number]) =>
      (regime.name === 'unpruned' && plain ? 'acc_baseline_plain' : regime.ours);
    const cells = Object.fromEntries(REGIMES.map((regime) => {
      const values = runs.map((r) => num(r[column(regime)])).filter((v): v is number => v !== null);
      const ours = values.length === runs.length && values.length > 0 ? round2(mean(values)) : null;
      const paper = num(first[regime.paper]);
      const diff = ours !== null && paper !== null && notComparable === '' ? round2(ours - paper) : null;
      return [regime.name, { mean: ours, std: ours === null ? null : round2(sampleStd(values)), paper, diff }];
    })) as Record<RegimeName, Cell>;
    return {
      method: first.method, dataset: first.dataset, model: first.model, variant: first.variant, profile: first.profile,
      seeds: runs.length,
      flops: Number(first.flops), prunedFlops: Number(first.pruned_flops),
      params: Number(first.params), prunedParams: Number(first.pruned_params),
      flopsReductionPct: Number(first.flops_reduction_pct),
      speedup: { b1: speedupOf(runs, 'b1'), b64: speedupOf(runs, 'b64') },
      backend: first.latency_backend ?? '',
      trainedOn: `${first.backend}, ${first.threads} threads`,
      sparsityPct: meanOf(runs, 'sparsity_pct'),
      hookedBaseline: plain ? meanOf(runs, 'acc_baseline') : null,
      paperSource: first.paper_source ?? '',
      notComparable,
      cells,
    };
  });
}

const fmt = (x: number | null, digits = 2) => (x === null ? '–' : x.toFixed(digits));

/** `93.60 ± 0.12 (paper 93.53, +0.07)`, or without the difference where it is not comparable. */
function cellText(cell: Cell, seeds: number): string {
  const ours = cell.mean === null ? '–' : seeds > 1 ? `${fmt(cell.mean)} ± ${fmt(cell.std)}` : fmt(cell.mean);
  if (cell.paper === null) return ours;
  const diff = cell.diff === null ? '' : `, ${cell.diff >= 0 ? '+' : ''}${fmt(cell.diff)}`;
  return `${ours} (paper ${fmt(cell.paper)}${diff})`;
}

function speedText(e: Experiment): string {
  const text = `${e.speedup.b1 === null ? '–' : `${fmt(e.speedup.b1)}×`} / ${e.speedup.b64 === null ? '–' : `${fmt(e.speedup.b64)}×`}`;
  // Masked weights are multiplied like any other by a dense kernel.
  return e.sparsityPct === null ? text : `${text} (unstructured: dense kernels, zeros save no time)`;
}

export function reportMarkdown(all: Experiment[]): string {
  const head = ['method', 'model', 'variant', 'dataset', 'profile', 'seeds', 'FLOPs ↓%', 'measured speed-up b1 / b64',
    ...REGIMES.map((r) => r.name), 'paper compared?', 'backend: latency / training'];
  const lines = all.map((e) => [e.method, e.model, e.variant, e.dataset, e.profile, String(e.seeds),
    fmt(e.flopsReductionPct, 1), speedText(e), ...REGIMES.map((r) => cellText(e.cells[r.name], e.seeds)),
    e.notComparable === '' ? `yes (${e.paperSource})` : `no: ${e.notComparable}`, `${e.backend || '–'} / ${e.trainedOn}`]);
  return [
    '# rethink-prune report',
    '',
    'Top-1 accuracy (%), ours as mean ± sample std over seeds. The paper\'s number and ours − paper are shown',
    'only where the run used the paper\'s recipe on the paper\'s dataset; other rows name why they are not compared.',
    'Speed-up = measured inference time of the unpruned model / the pruned model (median after warm-up).',
    '"unpruned" is the plain baseline; where a method also trains one with its own hooks (slimming\'s sparsity',
    'training, SFP\'s soft-pruned model), that one\'s accuracy is the CSV\'s `hooked_baseline`.',
    '',
    markdownTable(head, lines),
  ].join('\n');
}

export function reportCsv(all: Experiment[]): string {
  const columns = ['method', 'model', 'variant', 'dataset', 'profile', 'seeds', 'flops', 'pruned_flops', 'params',
    'pruned_params', 'flops_reduction_pct', 'sparsity_pct', 'hooked_baseline', 'speedup_b1', 'speedup_b64',
    'latency_backend', 'trained_on',
    ...REGIMES.flatMap((r) => [`${r.name}_mean`, `${r.name}_std`, `${r.name}_paper`, `${r.name}_diff`]),
    'paper_source', 'not_compared_because'];
  const rows = all.map((e) => [e.method, e.model, e.variant, e.dataset, e.profile, e.seeds, e.flops, e.prunedFlops,
    e.params, e.prunedParams, e.flopsReductionPct, e.sparsityPct, e.hookedBaseline, e.speedup.b1, e.speedup.b64,
    e.backend, e.trainedOn,
    ...REGIMES.flatMap((r) => { const c = e.cells[r.name]; return [c.mean, c.std, c.paper, c.diff]; }),
    e.paperSource, e.notComparable].map((v) => v ?? ''));
  return stringify(rows, { header: true, columns });
}
