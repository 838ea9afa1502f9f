import * as fs from 'fs';
import * as path from 'path';
import { stringify } from 'csv-stringify/sync';
// the project's one mean, sample std and Markdown table, by path: tools runs from source, without core's build
import { markdownTable } from '../../packages/core/src/results';
import { METRICS_FILE, metricsFile, readEpochMetrics } from '../../packages/core/src/train/metrics-file';
import { mean, sampleStd } from '../../packages/core/src/stats';
import { readRows, type Row } from '../report/report';
import { OUTCOMES, pairedInterval, paperVerdict, verdict, type Interval, type Reference, type Verdict } from './interval';
import type { Study } from './studies';

/**
 * One row of an evidence table: a variant over its seeds, the two scratch regimes against fine-tuning with their
 * paired 95% intervals and verdicts, the paper's numbers and verdicts beside them, and whether every baseline
 * converged (its last quarter of epochs gained less than a point).
 */
export interface EvidenceRow {
  study: string;
  variant: string;
  /** The initial LR of a study with an LR axis, and the prune round of a method with rounds (else null). */
  lr: number | null;
  round: number | null;
  model: string;
  seeds: number[];
  /** The FLOPs reduction, mean over the seeds; with its range where the seeds pruned differently (SSS's search). */
  flopsReductionPct: number;
  flopsReductionRange?: [number, number];
  accuracy: Record<Regime, { mean: number | null; std: number | null; paper: number | null }>;
  comparisons: Comparison[];
  /** Per seed: test top-1 at the last epoch minus at 3/4 of the epochs (points). */
  baselineLastQuarterGain: number[];
  converged: boolean;
}

export const REGIMES = ['baseline', 'finetuned', 'scratch_e', 'scratch_b', 'scratch_e_saved_init'] as const;
export type Regime = (typeof REGIMES)[number];

/** The accuracies a study's table shows: a lottery study's scratch runs are random init and winning ticket. */
export const regimesOf = (s: Study): Regime[] => (s.reference === 'ticket'
  ? ['baseline', 'scratch_e_saved_init', 'scratch_e'] : ['baseline', 'finetuned', 'scratch_e', 'scratch_b']);
const REGIME_TITLES: Record<Regime, string> = { baseline: 'baseline', finetuned: 'fine-tuned', scratch_e: 'Scratch-E',
  scratch_b: 'Scratch-B', scratch_e_saved_init: 'winning ticket' };
export const regimeTitle = (s: Study, g: Regime) => (s.reference === 'ticket' && g === 'scratch_e' ? 'random init' : REGIME_TITLES[g]);

export type ComparisonName = 'Scratch-E' | 'Scratch-B' | 'Random init';
/** The comparisons of a study's rows: each scratch regime against fine-tuning, or random init against the ticket. */
export const comparisonNames = (s: Study): ComparisonName[] =>
  (s.reference === 'ticket' ? ['Random init'] : ['Scratch-E', 'Scratch-B']);

export interface Comparison {
  name: ComparisonName;
  ours: Interval & { verdict: Verdict };
  /**
   * The paper's scratch − fine-tuned, with the sign as its verdict; null where it printed no pair. `row`: the paper's
   * row it comes from where that is not this row's own (a CIFAR analogue's ImageNet row).
   */
  paper: { difference: number; verdict: Verdict; row?: string } | null;
}

/** A row of a method's reference.json, the fields the evidence tables read. */
export interface ReferenceRow {
  row: string;
  variant: string;
  finetuned: number | null;
  scratchE: number | null;
  scratchB: number | null;
  /** ImageNet tables that print changes against an unpruned reference instead of accuracies (Tables 2 and 3). */
  printed?: { finetuned_delta: number; scratchE_delta: number; scratchB_delta: number };
}

/**
 * The paper's scratch − fine-tuned of a reference row, from its accuracies or else from its printed changes (the
 * paper's own comparison there: each regime's drop from its unpruned reference); null where it has neither.
 */
export function referenceDifference(r: ReferenceRow, regime: 'scratchE' | 'scratchB'): number | null {
  if (r[regime] !== null && r.finetuned !== null) return round(r[regime]! - r.finetuned);
  return r.printed ? round(r.printed[`${regime}_delta`] - r.printed.finetuned_delta) : null;
}

/** The reference row a CIFAR analogue's variant stands in for; undefined where the study maps none. */
function analogueRow(s: Study, variant: string, references: ReferenceRow[]): ReferenceRow | undefined {
  const wanted = s.analogueOf?.[variant];
  if (wanted === undefined) return undefined;
  const found = references.find((r) => r.variant === wanted);
  if (!found) throw new Error(`study ${s.id}: ${variant} stands in for '${wanted}', which ${s.packageDir}/reference.json lacks`);
  return found;
}

/** The column each comparison takes, and the one it is paired with. */
const COMPARED: Record<ComparisonName, { column: string; reference: string }> = {
  'Scratch-E': { column: 'acc_scratch_e', reference: 'acc_finetuned' },
  'Scratch-B': { column: 'acc_scratch_b', reference: 'acc_finetuned' },
  'Random init': { column: 'acc_scratch_e', reference: 'acc_scratch_e_saved_init' },
};

const num = (value: string | undefined) => (value === undefined || value === '' ? null : Number(value));
const round = (x: number, digits = 2) => Math.round(x * 10 ** digits) / 10 ** digits;

/** Where a study's runs write their table: `<runDir>/<profile>/results-<dataset>.csv`. */
export const studyResultsCsv = (s: Study, runDir: string) => path.join(runDir, s.profile, `results-${s.dataset}.csv`);

/**
 * The directory of one seed's experiment: `<runDir>/<profile>/<dataset>/<model>/seed<k>`, and `lr<lr>/` in it for a
 * study with an LR axis (every row records its LR; only an axis puts runs in their own folders).
 */
export const seedDir = (s: Study, runDir: string, model: string, seed: number | string, lr?: string | number | null) =>
  path.join(runDir, s.profile, s.dataset, model, `seed${seed}`, ...(s.lrs && lr !== undefined && lr !== null ? [`lr${lr}`] : []));

/** The last-quarter gain of a baseline from its metrics.jsonl. */
export function lastQuarterGain(file: string): number {
  const top1 = readEpochMetrics(file).map((e) => e.testTop1);
  if (top1.length < 4) throw new Error(`${file}: ${top1.length} epochs; a last quarter needs at least 4`);
  return top1[top1.length - 1] - top1[Math.floor((3 * top1.length) / 4) - 1];
}

/**
 * The last-quarter gain of each baseline of one seed's model, the largest: the plain one (`baseline/`) and any trained
 * with a method's hooks (`baseline-<id>/`: slimming's sparsity run, SFP's soft-pruned model), which is the one pruned.
 */
function baselineGain(dir: string): number {
  const runs = fs.existsSync(dir) ? fs.readdirSync(dir).filter((d) => /^baseline(-.+)?$/.test(d)) : [];
  const files = runs.map((d) => metricsFile(path.join(dir, d))).filter((f) => fs.existsSync(f));
  if (files.length === 0) throw new Error(`${dir}: no baseline*/${METRICS_FILE}`);
  return Math.max(...files.map(lastQuarterGain));
}

/** `analogue`: the paper's row a CIFAR analogue stands in for, whose verdict stands where the row's own is missing. */
function comparison(name: ComparisonName, runs: Row[], reference: Reference, analogue?: ReferenceRow): Comparison | null {
  const { column, reference: against } = COMPARED[name];
  const pairs = runs.map((r) => [num(r[column]), num(r[against])]);
  if (pairs.some(([scratch, other]) => scratch === null || other === null)) return null;
  const ours = pairedInterval(pairs.map(([scratch, other]) => scratch! - other!));
  const [paperScratch, paperOther] = [num(runs[0][`paper_${column}`]), num(runs[0][`paper_${against}`])];
  const stoodIn = analogue && name !== 'Random init'
    ? referenceDifference(analogue, name === 'Scratch-E' ? 'scratchE' : 'scratchB') : null;
  const paper = paperScratch !== null && paperOther !== null
    ? { difference: round(paperScratch - paperOther), verdict: paperVerdict(paperScratch, paperOther) }
    : stoodIn !== null ? { difference: stoodIn, verdict: paperVerdict(stoodIn, 0), row: analogue!.row } : null;
  return { name, ours: { ...ours, verdict: verdict(ours, reference) }, paper };
}

/** The column a seed record adds to its results row: the seed's baseline last-quarter gain (points). */
export const GAIN_COLUMN = 'baseline_last_quarter_gain';

/** A seed's identity within a study: variant, LR, prune round and seed. */
export const seedKey = (r: Row) => [r.variant, r.lr ?? '', r.round ?? '', r.seed].join('|');

/** The run rows of the study's variants in its results CSV here; none where the study has not run here. */
export function studyRunRows(s: Study, runDir: string): Row[] {
  const file = studyResultsCsv(s, runDir);
  return fs.existsSync(file) ? readRows(file).filter((r) => s.variants.includes(r.variant)) : [];
}

/** Orders by seed key, numbers by value (seed 10 after seed 9). */
export const bySeedKey = (a: string, b: string) => a.localeCompare(b, 'en', { numeric: true });

/**
 * The seed records of the study's runs on this machine: each run row of its results CSV (the study's variants only)
 * with the seed's baseline last-quarter gain from its metrics. None where the study has not run here.
 */
export function localSeedRecords(s: Study, runDir: string): Row[] {
  return studyRunRows(s, runDir)
    .map((r) => ({ ...r, [GAIN_COLUMN]: String(round(baselineGain(seedDir(s, runDir, r.model, r.seed, r.lr)))) }));
}

/**
 * The committed seed records (results/<study>/seeds.csv: seeds trained on machines that are gone) with this machine's.
 * A seed run here replaces its committed record; every accuracy on which the two disagree is listed, since the same
 * stage re-run on the same backend should compute the same.
 */
export function mergeSeedRecords(committed: Row[], local: Row[]): { records: Row[]; differences: string[] } {
  const here = new Map(local.map((r) => [seedKey(r), r]));
  const differ = (old: Row, now: Row, columns: string[], what: string) => columns
    .filter((c) => (old[c] ?? '') !== '' && (now[c] ?? '') !== '' && Number(old[c]) !== Number(now[c]))
    .map((c) => `${what}: ${c} ${old[c]} committed, ${now[c]} here`);
  const differences = committed.flatMap((old) => {
    const now = here.get(seedKey(old));
    if (now) return differ(old, now, Object.keys(old).filter((c) => /^acc_/.test(c)), seedKey(old));
    // Another variant of the same model, seed and LR shares its baselines: trained here again, they must agree.
    const sibling = local.find((r) => r.model === old.model && r.seed === old.seed && (r.lr ?? '') === (old.lr ?? ''));
    return sibling ? differ(old, sibling, ['acc_baseline', 'acc_baseline_plain'],
      `${old.model} seed ${old.seed} (${old.variant}'s record, ${sibling.variant} here)`) : [];
  });
  const kept = committed.filter((r) => !here.has(seedKey(r)));
  const records = [...kept, ...local].sort((a, b) => bySeedKey(seedKey(a), seedKey(b)));
  return { records, differences };
}

/** Seed records as CSV: every column any record has, in first-seen order. */
export function seedRecordsCsv(records: Row[]): string {
  const columns = [...new Set(records.flatMap((r) => Object.keys(r)))];
  return stringify(records.map((r) => columns.map((c) => r[c] ?? '')), { header: true, columns });
}

/**
 * The baseline a table shows: the plain one, the unpruned network as the paper's baseline columns have it. A method
 * that prunes a baseline it trained itself (slimming's sparsity, SFP's soft pruning, SSS's block factors) records
 * that one as acc_baseline and the plain one as acc_baseline_plain; the per-seed table shows both.
 */
const plainBaseline = (r: Row) => r.acc_baseline_plain || r.acc_baseline;

/** The evidence rows of a study from its seed records: per variant (and LR and round, where the study has them), in
 * the study's variant order. `references`: the method's reference.json rows, read for a CIFAR analogue's stand-ins. */
export function evidenceRows(s: Study, records: Row[], references: ReferenceRow[] = []): EvidenceRow[] {
  return s.variants.flatMap((variant) => {
    const mine = records.filter((r) => r.variant === variant);
    const analogue = analogueRow(s, variant, references);
    // A study with an LR axis has a row per LR; a method with rounds a row per round.
    const setting = (r: Row) => `${s.lrs ? r.lr ?? '' : ''}|${r.round ?? ''}`;
    return [...new Set(mine.map(setting))].map((key) => {
      const runs = mine.filter((r) => setting(r) === key).sort((a, b) => Number(a.seed) - Number(b.seed));
      const accuracy = Object.fromEntries(REGIMES.map((regime) => {
        const values = runs.map((r) => num(regime === 'baseline' ? plainBaseline(r) : r[`acc_${regime}`]))
          .filter((v): v is number => v !== null);
        const complete = values.length === runs.length;
        // One seed has no spread: its std is left empty, not 0.
        return [regime, { mean: complete ? round(mean(values)) : null,
          std: complete && values.length > 1 ? round(sampleStd(values)) : null,
          paper: num(runs[0][`paper_acc_${regime}`]) }];
      })) as EvidenceRow['accuracy'];
      const gains = runs.map((r) => {
        const gain = num(r[GAIN_COLUMN]);
        if (gain === null) throw new Error(`seed record ${seedKey(r)} has no ${GAIN_COLUMN}`);
        return gain;
      });
      const comparisons = comparisonNames(s).map((name) => comparison(name, runs, s.reference ?? 'finetuned', analogue));
      const flops = runs.map((r) => Number(r.flops_reduction_pct));
      const range: [number, number] = [Math.min(...flops), Math.max(...flops)];
      return {
        study: s.id, variant, lr: s.lrs ? num(runs[0].lr) : null, round: num(runs[0].round), model: runs[0].model,
        seeds: runs.map((r) => Number(r.seed)), flopsReductionPct: round(mean(flops)),
        ...(range[0] === range[1] ? {} : { flopsReductionRange: range }), accuracy,
        comparisons: comparisons.filter((c): c is Comparison => c !== null),
        baselineLastQuarterGain: gains, converged: gains.every((g) => g < 1),
      };
    });
  });
}

/** A row's name in tables and charts: the variant, with its LR and round where it has them. */
/**
 * The seeds a study's rows hold: the most any row has (and how many of the study's that is), then each row that has
 * fewer so far.
 */
export function studySeedsText(s: Study, rows: EvidenceRow[]): string {
  const most = rows.reduce((longest: number[], r) => (r.seeds.length > longest.length ? r.seeds : longest), []);
  const unfinished = most.length < s.seeds
    ? ` (${most.length} of the study's ${s.seeds}: the others are not finished)` : '';
  const seedList = (seeds: number[]) =>
    (seeds.length > 0 ? `seed${seeds.length > 1 ? 's' : ''} ${seeds.join(', ')}` : 'none');
  const fewer = rows.filter((r) => r.seeds.length < most.length).map((r) => `${rowLabel(r)} ${seedList(r.seeds)}`);
  return `seeds ${most.join(', ') || '–'}${unfinished}${fewer.length > 0 ? `; so far ${fewer.join('; ')}` : ''}`;
}

export const rowLabel = (r: Pick<EvidenceRow, 'variant' | 'lr' | 'round'>) =>
  [r.variant, ...(r.lr === null || r.lr === undefined ? [] : [`LR ${r.lr}`]),
    ...(r.round === null || r.round === undefined ? [] : [`round ${r.round}`])].join(' ');

const fmt = (x: number | null, digits = 2) => (x === null ? '–' : x.toFixed(digits));
/** `+1.20`, `-0.30`: a difference in points. */
export const signed = (x: number) => `${x >= 0 ? '+' : ''}${x.toFixed(2)}`;
const cell = (a: EvidenceRow['accuracy'][Regime]) =>
  `${a.mean === null ? '–' : `${fmt(a.mean)}${a.std === null ? '' : ` ± ${fmt(a.std)}`}`}${a.paper === null ? '' : ` (${fmt(a.paper)})`}`;
/** `+1.20 [-0.30, +2.70]`; an unbounded side (one seed; stored as null in rows.json) as ∞. */
export const intervalText = (i: Pick<Interval, 'mean' | 'low' | 'high'>) => {
  const bound = (x: number | null, infinite: string) => (x !== null && Number.isFinite(x) ? signed(x) : infinite);
  return `${signed(i.mean)} [${bound(i.low, '−∞')}, ${bound(i.high, '+∞')}]`;
};

/** The Markdown table of a study: accuracies (paper's in brackets), then each comparison with interval and verdicts. */
export function evidenceMarkdown(s: Study, rows: EvidenceRow[]): string {
  const regimes = regimesOf(s);
  const names = comparisonNames(s);
  const against = s.reference === 'ticket' ? 'winning ticket' : 'fine-tuned';
  const [ahead, behind] = OUTCOMES[s.reference ?? 'finetuned'];
  const head = ['variant', 'FLOPs ↓%', 'seeds', ...regimes.map((g) => regimeTitle(s, g)),
    ...names.flatMap((n) => [`${n} − ${against} [95% CI]`, 'verdict (paper)']), 'baseline last-quarter gain'];
  const lines = rows.map((r) => {
    const compared = names.flatMap((name) => {
      const c = r.comparisons.find((x) => x.name === name);
      if (!c) return ['–', '–'];
      const where = c.paper?.row ? ` on ${c.paper.row}` : '';
      const paper = c.paper ? ` (paper${where} ${signed(c.paper.difference)}: ${c.paper.verdict})` : ' (paper: –)';
      return [intervalText(c.ours), `**${c.ours.verdict}**${paper}`];
    });
    const flops = `${fmt(r.flopsReductionPct, 1)}${r.flopsReductionRange
      ? ` (${r.flopsReductionRange.map((x) => fmt(x, 1)).join('–')})` : ''}`;
    return [rowLabel(r), flops, String(r.seeds.length), ...regimes.map((g) => cell(r.accuracy[g])),
      ...compared, `${r.baselineLastQuarterGain.map((g) => signed(g)).join(', ')}${r.converged ? '' : ' (NOT converged)'}`];
  });
  return [
    `# ${s.id}${s.note ? ` (${s.note})` : ''}: ${s.reference === 'ticket'
      ? 'winning ticket vs random init (the pruned net trained from its baseline\'s initial weights, or from new ones)'
      : 'fine-tuned vs Scratch-E / Scratch-B'}`,
    '',
    `Profile \`${s.profile}\` on the CIFAR-10 subset (10 000 train / 2 000 test images), ${studySeedsText(s, rows)}.`,
    `Top-1 % as mean ± sample std over seeds${s.reference === 'ticket'
      ? ' (the paper printed no numbers for this comparison: its lottery-ticket results are figures)'
      : ', the paper\'s full-scale CIFAR-10 number in brackets'}. Differences are`,
    'paired by seed (same pruned architecture); the interval is mean ± t(0.975, n−1)·s/√n. Verdict: the interval above',
    `zero (${ahead}), below it (${behind}) or across it (inconclusive); the paper's verdict is the`,
    'sign of its printed means. A baseline has converged when its last quarter of epochs gained under one point.',
    'The baseline column is the plain one (no method hooks); where a method trains its own (sparsity, soft pruning),',
    'the per-seed table below lists that one too, and the convergence check covers both.',
    ...(Object.keys(s.analogueOf ?? {}).length > 0
      ? ['The paper ran this method on ImageNet only: beside a CIFAR analogue stands the verdict of the ImageNet row it',
        'stands in for, named in the cell (where the paper prints changes against the unpruned model, the difference of',
        'the two changes: its own comparison).'] : []),
    '',
    markdownTable(head, lines),
    '',
  ].join('\n');
}

/**
 * Per seed, the numbers behind each row (top-1 %, best epoch; rows in the study's order): the plain baseline and,
 * where the method trains its own (slimming's sparsity, SFP's soft pruning), that one; the pruned model before and
 * after fine-tuning; the scratch runs, Scratch-B with its epochs. A lottery study: the winning ticket and random init.
 */
export function seedsMarkdown(s: Study, records: Row[]): string {
  const acc = (v: string | undefined) => fmt(num(v));
  const label = (r: Row) => rowLabel({ variant: r.variant, lr: s.lrs ? Number(r.lr) : null,
    round: r.round ? Number(r.round) : null });
  const gain = (r: Row) => (r[GAIN_COLUMN] ? signed(Number(r[GAIN_COLUMN])) : '–');
  const ticket = s.reference === 'ticket';
  const head = ticket ? ['row', 'seed', 'baseline', 'winning ticket', 'random init', 'baseline last-quarter gain']
    : ['row', 'seed', 'baseline', 'baseline trained by the method', 'FLOPs ↓%', 'before fine-tuning', 'fine-tuned',
      'Scratch-E', 'Scratch-B (epochs)', 'baseline last-quarter gain'];
  const order = (r: Row) => s.variants.indexOf(r.variant);
  const lines = [...records].sort((a, b) => order(a) - order(b) || bySeedKey(seedKey(a), seedKey(b))).map((r) => {
    const own = r.acc_baseline_plain ? acc(r.acc_baseline) : '–';
    const plain = acc(plainBaseline(r));
    return ticket ? [label(r), r.seed, plain, acc(r.acc_scratch_e_saved_init), acc(r.acc_scratch_e), gain(r)]
      : [label(r), r.seed, plain, own, fmt(num(r.flops_reduction_pct), 1),
        acc(r.acc_before_finetune), acc(r.acc_finetuned), acc(r.acc_scratch_e),
        `${acc(r.acc_scratch_b)} (${r.epochs_scratch_b || '–'})`, gain(r)];
  });
  return ['## Per seed', '', markdownTable(head, lines), ''].join('\n');
}

export function evidenceCsv(rows: EvidenceRow[]): string {
  const names: ComparisonName[] = ['Scratch-E', 'Scratch-B', 'Random init'];
  // scratch_e_minus_ft, …, random_init_minus_ticket (random init − winning ticket)
  const key = (n: ComparisonName) =>
    ({ 'Scratch-E': ['scratch_e', 'ft'], 'Scratch-B': ['scratch_b', 'ft'], 'Random init': ['random_init', 'ticket'] })[n];
  const columns = ['study', 'variant', 'lr', 'round', 'model', 'seeds', 'flops_reduction_pct',
    ...REGIMES.flatMap((g) => [`${g}_mean`, `${g}_std`, `${g}_paper`]),
    ...names.map(key).flatMap(([c, ref]) => [`${c}_minus_${ref}`, `${c}_low`, `${c}_high`, `${c}_verdict`,
      `${c}_paper_minus_${ref}`, `${c}_paper_verdict`]),
    'baseline_last_quarter_gain', 'converged'];
  const records = rows.map((r) => {
    const compared = names.flatMap((name) => {
      const c = r.comparisons.find((x) => x.name === name);
      return c ? [round(c.ours.mean), round(c.ours.low), round(c.ours.high), c.ours.verdict,
        c.paper?.difference ?? '', c.paper?.verdict ?? ''] : ['', '', '', '', '', ''];
    });
    return [r.study, r.variant, r.lr ?? '', r.round ?? '', r.model, r.seeds.join(' '), r.flopsReductionPct,
      // A row kept from a table written before a regime existed (rows.json) has no entry for it: blank cells.
      ...REGIMES.flatMap((g) => [r.accuracy[g]?.mean, r.accuracy[g]?.std, r.accuracy[g]?.paper].map((v) => v ?? '')),
      ...compared, r.baselineLastQuarterGain.join(' '), r.converged];
  });
  return stringify(records, { header: true, columns });
}
