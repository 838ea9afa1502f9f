import * as fs from 'fs';
import * as path from 'path';
import { stringify } from 'csv-stringify/sync';
// the project's one mean and sample std, by path: tools runs from source, without core's build
import { mean, sampleStd } from '../../packages/core/src/stats';
import { readRows, type Row } from '../report/report';
import { pairedInterval, paperVerdict, verdict, type Interval, type Verdict } from './interval';
import type { Study } from './studies';

/**
 * One row of an evidence table: a variant over its seeds, the two scratch regimes against fine-tuning with their
 * paired 95% intervals and verdicts, the paper's numbers and verdicts beside them, and whether every baseline
 * converged (its last quarter of epochs gained less than a point).
 */
export interface EvidenceRow {
  study: string;
  variant: string;
  model: string;
  seeds: number[];
  flopsReductionPct: number;
  accuracy: Record<Regime, { mean: number | null; std: number | null; paper: number | null }>;
  comparisons: Comparison[];
  /** Per seed: test top-1 at the last epoch minus at 3/4 of the epochs (points). */
  baselineLastQuarterGain: number[];
  converged: boolean;
}

export const REGIMES = ['baseline', 'finetuned', 'scratch_e', 'scratch_b'] as const;
export type Regime = (typeof REGIMES)[number];

export interface Comparison {
  name: 'Scratch-E' | 'Scratch-B';
  ours: Interval & { verdict: Verdict };
  /** The paper's scratch − fine-tuned, with the sign as its verdict; null where it printed no pair. */
  paper: { difference: number; verdict: Verdict } | null;
}

const num = (value: string | undefined) => (value === undefined || value === '' ? null : Number(value));
const round = (x: number, digits = 2) => Math.round(x * 10 ** digits) / 10 ** digits;

/** Where a study's runs write their table: `<runDir>/<profile>/results-<dataset>.csv`. */
export const studyResultsCsv = (s: Study, runDir: string) => path.join(runDir, s.profile, `results-${s.dataset}.csv`);

/** The directory of one seed's experiment: `<runDir>/<profile>/<dataset>/<model>/seed<k>`. */
export const seedDir = (s: Study, runDir: string, model: string, seed: number | string) =>
  path.join(runDir, s.profile, s.dataset, model, `seed${seed}`);

/** The last-quarter gain of a baseline from its metrics.jsonl (one JSON line per epoch with testTop1). */
export function lastQuarterGain(metricsFile: string): number {
  const epochs = fs.readFileSync(metricsFile, 'utf8').trim().split('\n').map((line) => JSON.parse(line));
  const top1 = epochs.map((e) => e.testTop1 as number);
  if (top1.length < 4) throw new Error(`${metricsFile}: ${top1.length} epochs; a last quarter needs at least 4`);
  return top1[top1.length - 1] - top1[Math.floor((3 * top1.length) / 4) - 1];
}

/**
 * The last-quarter gain of each baseline of one seed's model, the largest: the plain one (`baseline/`) and any trained
 * with a method's hooks (`baseline-<id>/`: slimming's sparsity run, SFP's soft-pruned model), which is the one pruned.
 */
function baselineGain(dir: string): number {
  const runs = fs.existsSync(dir) ? fs.readdirSync(dir).filter((d) => /^baseline(-.+)?$/.test(d)) : [];
  const files = runs.map((d) => path.join(dir, d, 'metrics.jsonl')).filter((f) => fs.existsSync(f));
  if (files.length === 0) throw new Error(`${dir}: no baseline*/metrics.jsonl`);
  return Math.max(...files.map(lastQuarterGain));
}

function comparison(name: Comparison['name'], column: string, runs: Row[]): Comparison | null {
  const pairs = runs.map((r) => [num(r[column]), num(r.acc_finetuned)]);
  if (pairs.some(([scratch, tuned]) => scratch === null || tuned === null)) return null;
  const ours = pairedInterval(pairs.map(([scratch, tuned]) => scratch! - tuned!));
  const [paperScratch, paperTuned] = [num(runs[0][`paper_${column}`]), num(runs[0].paper_acc_finetuned)];
  const paper = paperScratch === null || paperTuned === null ? null
    : { difference: round(paperScratch - paperTuned), verdict: paperVerdict(paperScratch, paperTuned) };
  return { name, ours: { ...ours, verdict: verdict(ours) }, paper };
}

/** The evidence rows of a study from its results CSV and run directories, in the study's variant order. */
export function evidenceRows(s: Study, runDir: string): EvidenceRow[] {
  const file = studyResultsCsv(s, runDir);
  if (!fs.existsSync(file)) throw new Error(`${file} does not exist: run the study first (evidence run ${s.id})`);
  const rows = readRows(file);
  return s.variants.flatMap((variant) => {
    const runs = rows.filter((r) => r.variant === variant);
    if (runs.length === 0) return [];
    const accuracy = Object.fromEntries(REGIMES.map((regime) => {
      const values = runs.map((r) => num(r[`acc_${regime}`])).filter((v): v is number => v !== null);
      const complete = values.length === runs.length;
      return [regime, { mean: complete ? round(mean(values)) : null, std: complete ? round(sampleStd(values)) : null,
        paper: num(runs[0][`paper_acc_${regime}`]) }];
    })) as EvidenceRow['accuracy'];
    const gains = runs.map((r) => round(baselineGain(seedDir(s, runDir, r.model, r.seed))));
    const comparisons = [comparison('Scratch-E', 'acc_scratch_e', runs), comparison('Scratch-B', 'acc_scratch_b', runs)];
    return [{
      study: s.id, variant, model: runs[0].model, seeds: runs.map((r) => Number(r.seed)),
      flopsReductionPct: Number(runs[0].flops_reduction_pct), accuracy,
      comparisons: comparisons.filter((c): c is Comparison => c !== null),
      baselineLastQuarterGain: gains, converged: gains.every((g) => g < 1),
    }];
  });
}

const fmt = (x: number | null, digits = 2) => (x === null ? '–' : x.toFixed(digits));
const signed = (x: number) => `${x >= 0 ? '+' : ''}${x.toFixed(2)}`;
const cell = (a: EvidenceRow['accuracy'][Regime]) =>
  `${a.mean === null ? '–' : `${fmt(a.mean)} ± ${fmt(a.std)}`}${a.paper === null ? '' : ` (${fmt(a.paper)})`}`;
/** `+1.20 [-0.30, +2.70]`; an unbounded side (one seed; stored as null in rows.json) as ∞. */
export const intervalText = (i: Pick<Interval, 'mean' | 'low' | 'high'>) => {
  const bound = (x: number | null, infinite: string) => (x !== null && Number.isFinite(x) ? signed(x) : infinite);
  return `${signed(i.mean)} [${bound(i.low, '−∞')}, ${bound(i.high, '+∞')}]`;
};

/** The Markdown table of a study: accuracies (paper's in brackets), then each comparison with interval and verdicts. */
export function evidenceMarkdown(s: Study, rows: EvidenceRow[]): string {
  const head = ['variant', 'FLOPs ↓%', 'seeds', 'baseline', 'fine-tuned', 'Scratch-E', 'Scratch-B',
    'Scratch-E − fine-tuned [95% CI]', 'verdict (paper)', 'Scratch-B − fine-tuned [95% CI]', 'verdict (paper)',
    'baseline last-quarter gain'];
  const lines = rows.map((r) => {
    const compared = (['Scratch-E', 'Scratch-B'] as const).flatMap((name) => {
      const c = r.comparisons.find((x) => x.name === name);
      if (!c) return ['–', '–'];
      const paper = c.paper ? ` (paper ${signed(c.paper.difference)}: ${c.paper.verdict})` : ' (paper: –)';
      return [intervalText(c.ours), `**${c.ours.verdict}**${paper}`];
    });
    return [r.variant, fmt(r.flopsReductionPct, 1), String(r.seeds.length), ...REGIMES.map((g) => cell(r.accuracy[g])),
      ...compared, `${r.baselineLastQuarterGain.map((g) => signed(g)).join(', ')}${r.converged ? '' : ' (NOT converged)'}`];
  });
  return [
    `# ${s.id}${s.note ? ` (${s.note})` : ''}: fine-tuned vs Scratch-E / Scratch-B`,
    '',
    `Profile \`${s.profile}\` on the CIFAR-10 subset (10 000 train / 2 000 test images), seeds ${rows[0]?.seeds.join(', ') ?? '–'}` +
      `${(rows[0]?.seeds.length ?? s.seeds) < s.seeds ? ` (${rows[0].seeds.length} of the study's ${s.seeds}: the others are not finished)` : ''}.`,
    'Top-1 % as mean ± sample std over seeds, the paper\'s full-scale CIFAR-10 number in brackets. Differences are',
    'paired by seed (same pruned architecture); the interval is mean ± t(0.975, n−1)·s/√n. Verdict: the interval above',
    'zero (scratch ≥ fine-tuned), below it (fine-tuned better) or across it (inconclusive); the paper\'s verdict is the',
    'sign of its printed means. A baseline has converged when its last quarter of epochs gained under one point.',
    '',
    ...[head, head.map(() => '---'), ...lines].map((l) => `| ${l.join(' | ')} |`),
    '',
  ].join('\n');
}

export function evidenceCsv(rows: EvidenceRow[]): string {
  const columns = ['study', 'variant', 'model', 'seeds', 'flops_reduction_pct',
    ...REGIMES.flatMap((g) => [`${g}_mean`, `${g}_std`, `${g}_paper`]),
    ...['scratch_e', 'scratch_b'].flatMap((c) => [`${c}_minus_ft`, `${c}_low`, `${c}_high`, `${c}_verdict`,
      `${c}_paper_minus_ft`, `${c}_paper_verdict`]),
    'baseline_last_quarter_gain', 'converged'];
  const records = rows.map((r) => {
    const compared = (['Scratch-E', 'Scratch-B'] as const).flatMap((name) => {
      const c = r.comparisons.find((x) => x.name === name);
      return c ? [round(c.ours.mean), round(c.ours.low), round(c.ours.high), c.ours.verdict,
        c.paper?.difference ?? '', c.paper?.verdict ?? ''] : ['', '', '', '', '', ''];
    });
    return [r.study, r.variant, r.model, r.seeds.join(' '), r.flopsReductionPct,
      ...REGIMES.flatMap((g) => [r.accuracy[g].mean, r.accuracy[g].std, r.accuracy[g].paper].map((v) => v ?? '')),
      ...compared, r.baselineLastQuarterGain.join(' '), r.converged];
  });
  return stringify(records, { header: true, columns });
}
