import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { describe, expect, it, vi } from 'vitest';
import { main } from './cli';
import {
  evidenceCsv, evidenceMarkdown, evidenceRows, lastQuarterGain, localSeedRecords, mergeSeedRecords, studySeedsText,
  type EvidenceRow,
} from './evidence';
import type { Study } from './studies';

const study: Study = { id: 'l1-norm', packageDir: 'method-l1', variants: ['vgg16-A'], seeds: 3, profile: 'small',
  dataset: 'cifar10', backend: 'wasm' };

/** A run directory as a study leaves it: the results CSV and each seed's baseline metrics. */
function fakeRuns(seeds = [0, 1, 2]): string {
  const runDir = fs.mkdtempSync(path.join(os.tmpdir(), 'evidence-'));
  const columns = ['row_kind', 'method', 'model', 'dataset', 'variant', 'profile', 'seed', 'flops_reduction_pct',
    'acc_baseline', 'acc_finetuned', 'acc_scratch_e', 'acc_scratch_b', 'paper_acc_baseline', 'paper_acc_finetuned',
    'paper_acc_scratch_e', 'paper_acc_scratch_b'];
  const runs = [
    // seed, baseline, fine-tuned, Scratch-E, Scratch-B
    [0, 70, 68, 69, 71],
    [1, 71, 69, 71, 72],
    [2, 72, 70, 73, 73],
  ].filter(([seed]) => seeds.includes(seed)).map(([seed, ...acc]) => ['run', 'l1-norm', 'vgg16', 'cifar10', 'vgg16-A', 'small', seed, 34.2, ...acc,
    93.63, 93.41, 93.62, 93.78].join(','));
  const mean = ['mean', 'l1-norm', 'vgg16', 'cifar10', 'vgg16-A', 'small', '', 34.2, 71, 69, 71, 72, '', '', '', ''];
  fs.mkdirSync(path.join(runDir, 'small'), { recursive: true });
  fs.writeFileSync(path.join(runDir, 'small', 'results-cifar10.csv'), [columns.join(','), ...runs, mean.join(',')].join('\n'));
  for (const seed of seeds) {
    const dir = path.join(runDir, 'small', 'cifar10', 'vgg16', `seed${seed}`, 'baseline');
    fs.mkdirSync(dir, { recursive: true });
    // 8 epochs: the last quarter runs from epoch 6 (60 + seed) to epoch 8 (60.5 + seed + seed/2)
    const top1 = [10, 30, 40, 50, 55, 60 + seed, 60.2 + seed, 60.5 + seed + seed / 2];
    fs.writeFileSync(path.join(dir, 'metrics.jsonl'), top1.map((t, e) => JSON.stringify({ epoch: e + 1, testTop1: t })).join('\n'));
  }
  return runDir;
}

describe('an evidence table', () => {
  it('shows the plain baseline where the method trained its own one to prune (slimming, SFP, SSS)', () => {
    // seeds 0–2: the method's own baselines 70, 71, 72; the plain ones 74, 75, 77 → 75.33 ± 1.53
    const records = localSeedRecords(study, fakeRuns()).map((r, k) => ({ ...r, acc_baseline_plain: String([74, 75, 77][k]) }));
    const [row] = evidenceRows(study, records);
    expect(row.accuracy.baseline).toEqual({ mean: 75.33, std: 1.53, paper: 93.63 });
    expect(evidenceRows(study, localSeedRecords(study, fakeRuns()))[0].accuracy.baseline.mean).toBe(71);
  });

  it('pairs each seed\'s scratch run with its fine-tuned run and bounds the mean difference', () => {
    const [row] = evidenceRows(study, localSeedRecords(study, fakeRuns()));
    expect(row.seeds).toEqual([0, 1, 2]);
    expect(row.accuracy.finetuned).toEqual({ mean: 69, std: 1, paper: 93.41 });
    const [e, b] = row.comparisons;
    // Scratch-E − fine-tuned per seed: 1, 2, 3 → mean 2, half-width 4.303·1/√3
    expect(e.name).toBe('Scratch-E');
    expect(e.ours.mean).toBe(2);
    expect(e.ours.low).toBeCloseTo(-0.4843, 3);
    expect(e.ours.verdict).toBe('inconclusive');
    // Scratch-B − fine-tuned: 3, 3, 3 → no spread, above zero
    expect([b.ours.mean, b.ours.low, b.ours.high, b.ours.verdict]).toEqual([3, 3, 3, 'scratch ≥ fine-tuned']);
    expect(b.paper).toEqual({ difference: 0.37, verdict: 'scratch ≥ fine-tuned' });
    expect(e.paper).toEqual({ difference: 0.21, verdict: 'scratch ≥ fine-tuned' });
    // last-quarter gains 0.5, 1.0, 1.5: seeds 1 and 2 gained a point or more
    expect(row.baselineLastQuarterGain).toEqual([0.5, 1, 1.5]);
    expect(row.converged).toBe(false);
  });

  it('shows the mean FLOPs reduction and its range where the seeds pruned differently (SSS\'s search)', () => {
    // seeds 0–2 removed 57.8%, 34.9% and 46.3% of the FLOPs → mean 46.33
    const records = localSeedRecords(study, fakeRuns()).map((r, k) => ({ ...r, flops_reduction_pct: String([57.8, 34.9, 46.3][k]) }));
    const rows = evidenceRows(study, records);
    expect([rows[0].flopsReductionPct, rows[0].flopsReductionRange]).toEqual([46.33, [34.9, 57.8]]);
    expect(evidenceMarkdown(study, rows)).toContain('| vgg16-A | 46.3 (34.9–57.8) | 3 |');
    expect(evidenceRows(study, localSeedRecords(study, fakeRuns()))[0]).not.toHaveProperty('flopsReductionRange');
  });

  it('writes the verdicts, the paper\'s beside them and a flag on an unconverged baseline', () => {
    const rows = evidenceRows(study, localSeedRecords(study, fakeRuns()));
    const table = evidenceMarkdown(study, rows);
    expect(table).toContain('| vgg16-A | 34.2 | 3 | 71.00 ± 1.00 (93.63) | 69.00 ± 1.00 (93.41) |');
    expect(table).toContain('+2.00 [-0.48, +4.48] | **inconclusive** (paper +0.21: scratch ≥ fine-tuned)');
    expect(table).toContain('+0.50, +1.00, +1.50 (NOT converged)');
    expect(table).toContain('zero (scratch ≥ fine-tuned), below it (fine-tuned better) or across it (inconclusive)');
    expect(table).toContain('the paper\'s full-scale CIFAR-10 number in brackets');
    expect(evidenceCsv(rows).split('\n')[1]).toContain('vgg16-A,,,vgg16,0 1 2,34.2,71,1,93.63');
  });

  it('writes the CSV of a row kept from a table written before a regime existed, that regime blank', () => {
    const [row] = evidenceRows(study, localSeedRecords(study, fakeRuns()));
    const { scratch_e_saved_init: _, ...older } = row.accuracy;
    const csv = evidenceCsv([{ ...row, accuracy: older as typeof row.accuracy }]).split('\n');
    const cells = Object.fromEntries(csv[0].split(',').map((name, i) => [name, csv[1].split(',')[i]]));
    expect([cells.scratch_b_mean, cells.scratch_e_saved_init_mean, cells.scratch_e_saved_init_std]).toEqual(['72', '', '']) // Scratch-B 71, 72, 73;
  });

  it('sets beside a CIFAR analogue the verdict of the paper\'s ImageNet row it stands in for', () => {
    const analogue: Study = { ...study, id: 'thinet', packageDir: 'method-thinet', analogueOf: { 'vgg16-A': 'thinet-conv' } };
    // the runs' own paper columns are empty (the paper has no CIFAR row)
    const records = localSeedRecords(analogue, fakeRuns())
      .map((r) => Object.fromEntries(Object.entries(r).filter(([column]) => !column.startsWith('paper_'))));
    // Table 2's VGG-Conv prints changes: fine-tuned −1.23 (from 71.03), Scratch-E −2.75 and Scratch-B +0.21 (from
    // 71.51): Scratch-E − fine-tuned −2.75 + 1.23 = −1.52, Scratch-B +0.21 + 1.23 = +1.44.
    const printed = { row: 'ImageNet / VGG-16 / VGG-Conv (ThiNet-Conv)', variant: 'thinet-conv', finetuned: null,
      scratchE: null, scratchB: null, printed: { finetuned_delta: -1.23, scratchE_delta: -2.75, scratchB_delta: 0.21 } };
    const [row] = evidenceRows(analogue, records, [printed]);
    expect(row.comparisons.map((c) => c.paper)).toEqual([
      { difference: -1.52, verdict: 'fine-tuned better', row: printed.row },
      { difference: 1.44, verdict: 'scratch ≥ fine-tuned', row: printed.row }]);
    expect(row.accuracy.finetuned.paper).toBeNull();
    expect(evidenceMarkdown(analogue, [row]))
      .toContain('**inconclusive** (paper on ImageNet / VGG-16 / VGG-Conv (ThiNet-Conv) -1.52: fine-tuned better)');
    // A row with accuracies (Table 5's ResNet-41: pruned 75.44, Scratch-E 75.61, Scratch-B 76.17) gives their differences.
    const accuracies = { row: 'ImageNet / ResNet-50 / ResNet-41', variant: 'thinet-conv', finetuned: 75.44, scratchE: 75.61,
      scratchB: 76.17 };
    expect(evidenceRows(analogue, records, [accuracies])[0].comparisons.map((c) => c.paper?.difference)).toEqual([0.17, 0.73]);
    // The study's own rows win where the runs carry the paper's numbers; an unknown stand-in is an error.
    expect(evidenceRows(analogue, localSeedRecords(analogue, fakeRuns()), [printed])[0].comparisons[0].paper)
      .toEqual({ difference: 0.21, verdict: 'scratch ≥ fine-tuned' });
    expect(() => evidenceRows(analogue, records, []))
      .toThrow("study thinet: vgg16-A stands in for 'thinet-conv', which method-thinet/reference.json lacks");
  });

  it('says how many of the study\'s seeds a table of the finished ones holds', () => {
    const rows = evidenceRows(study, localSeedRecords(study, fakeRuns()));
    expect(evidenceMarkdown(study, rows)).toContain('seeds 0, 1, 2.');
    expect(evidenceMarkdown({ ...study, seeds: 5 }, rows))
      .toContain('seeds 0, 1, 2 (3 of the study\'s 5: the others are not finished).');
  });

  it('refuses a baseline too short to have a last quarter, naming the file', () => {
    const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'metrics-')), 'metrics.jsonl');
    fs.writeFileSync(file, '{"testTop1":1}\n{"testTop1":2}\n');
    expect(() => lastQuarterGain(file)).toThrow(`${file}: 2 epochs`);
  });
});

describe('the seeds a table names', () => {
  const row = (variant: string, seeds: number[]) => ({ variant, seeds, lr: null, round: null }) as unknown as EvidenceRow;
  it('one list where the rows agree, and each row with fewer so far', () => {
    expect(studySeedsText(study, [row('vgg16-A', [0, 1, 2])])).toBe('seeds 0, 1, 2');
    expect(studySeedsText(study, [row('vgg16-A', [0, 1])])).toBe(
      'seeds 0, 1 (2 of the study\'s 3: the others are not finished)');
    expect(studySeedsText(study, [row('resnet20', [0, 1, 2]), row('resnet56', [0]), row('resnet56-pretrained', [])])).toBe(
      'seeds 0, 1, 2; so far resnet56 seed 0; resnet56-pretrained none');
  });
});

describe('a lottery-ticket evidence table', () => {
  const lottery: Study = { ...study, id: 'lottery-ticket', packageDir: 'lottery-ticket', variants: ['vgg16-A'],
    lrs: [0.1, 0.01], reference: 'ticket' };

  /** Two LRs × 3 seeds: random init (Scratch-E) and winning ticket (from the saved init), baselines under lr<lr>/. */
  function lotteryRuns(): string {
    const runDir = fs.mkdtempSync(path.join(os.tmpdir(), 'evidence-lottery-'));
    const columns = ['row_kind', 'method', 'model', 'dataset', 'variant', 'profile', 'lr', 'round', 'seed',
      'flops_reduction_pct', 'acc_baseline', 'acc_scratch_e', 'acc_scratch_e_saved_init'];
    const runs = [
      // lr, seed, baseline, random init, winning ticket
      [0.1, 0, 73, 72, 71], [0.1, 1, 74, 73, 72], [0.1, 2, 73, 72.5, 72],
      [0.01, 0, 68, 66, 68], [0.01, 1, 69, 66.5, 68.5], [0.01, 2, 68, 66, 69],
    ].map(([lr, seed, ...acc]) => ['run', 'lottery-ticket', 'vgg16', 'cifar10', 'vgg16-A', 'small', lr, '', seed, 34.2,
      ...acc].join(','));
    fs.mkdirSync(path.join(runDir, 'small'), { recursive: true });
    fs.writeFileSync(path.join(runDir, 'small', 'results-cifar10.csv'), [columns.join(','), ...runs].join('\n'));
    for (const lr of [0.1, 0.01]) {
      for (const seed of [0, 1, 2]) {
        const dir = path.join(runDir, 'small', 'cifar10', 'vgg16', `seed${seed}`, `lr${lr}`, 'baseline');
        fs.mkdirSync(dir, { recursive: true });
        fs.writeFileSync(path.join(dir, 'metrics.jsonl'),
          [10, 20, 30, 40, 50, 60, 60.1, 60.2].map((t) => JSON.stringify({ testTop1: t })).join('\n'));
      }
    }
    return runDir;
  }

  it('compares random init with the winning ticket per LR, paired by seed', () => {
    const rows = evidenceRows(lottery, localSeedRecords(lottery, lotteryRuns()));
    expect(rows.map((r) => [r.variant, r.lr, r.round])).toEqual([['vgg16-A', 0.1, null], ['vgg16-A', 0.01, null]]);
    const [large, small] = rows.map((r) => r.comparisons);
    // LR 0.1: random − ticket = 1, 1, 0.5 → mean 0.83, s = 0.2887, half-width 4.303·0.2887/√3 = 0.717: above zero.
    expect(large.map((c) => c.name)).toEqual(['Random init']);
    expect(large[0].ours.mean).toBeCloseTo(0.8333, 3);
    expect(large[0].ours.low).toBeCloseTo(0.1162, 3);
    expect(large[0].ours.verdict).toBe('random init ≥ ticket');
    // LR 0.01: −2, −2, −3 → mean −2.33, half-width 1.434: below zero, the ticket helped.
    expect(small[0].ours.verdict).toBe('ticket better');
    expect(small[0].paper).toBeNull();
    const table = evidenceMarkdown(lottery, rows);
    expect(table).toContain('| vgg16-A LR 0.1 | 34.2 | 3 | 73.33 ± 0.58 | 71.67 ± 0.58 | 72.50 ± 0.50 | +0.83 [+0.12, +1.55] |');
    expect(table).toContain('Random init − winning ticket [95% CI]');
    // The header's verdicts are the lottery ones, and it promises no paper numbers in brackets.
    expect(table).toContain('zero (random init ≥ ticket), below it (ticket better) or across it (inconclusive)');
    expect(table).not.toContain('scratch ≥ fine-tuned');
    expect(table).toContain('the paper printed no numbers for this comparison');
  });
});

describe('evidence run of several studies: what it refuses before it trains anything', () => {
  it.each([
    [['run', 'thinet,regression', '--variants', 'resnet56-50,vgg16-A'],
      '--variants: vgg16-A not in study thinet (vgg16-conv, resnet56-50) or study regression (vgg16-50, resnet56-50)'],
    [['run', 'thinet,l1-norm', '--variants', 'resnet56-50'],
      "--variants resnet56-50: none of study l1-norm's (vgg16-A, resnet56-A, resnet56-B)"],
    [['run', 'thinet,regression', '--run-dir', 'runs/mine'], '--run-dir goes with one study'],
    [['table', 'thinet,no-such'], "unknown study 'no-such'"],
  ])('%j', async (argv, message) => {
    await expect(main(argv)).rejects.toThrow(message);
  });
});

describe('evidence table (the command)', () => {
  it('writes a study\'s table, chart, manifest and the summary; one seed gives an unbounded interval, no crash', async () => {
    const results = fs.mkdtempSync(path.join(os.tmpdir(), 'results-'));
    const runDir = fakeRuns([0]);
    // The baseline trained 8 epochs, one of them stopped for 50 minutes: 3 070 s of wall time, 8 × 10 s busy; its
    // first 5 epochs on two threads (alone), the rest resumed on one. The Scratch-E below (no metrics) on one.
    const baseline = path.join(runDir, 'small', 'cifar10', 'vgg16', 'seed0', 'baseline');
    const seconds = [10, 10, 11, 10, 9, 3000, 10, 10];
    fs.writeFileSync(path.join(baseline, 'metrics.jsonl'), seconds.map((s, e) =>
      JSON.stringify({ epoch: e + 1, testTop1: 60, seconds: s, threads: e < 5 ? 2 : 1 })).join('\n'));
    fs.writeFileSync(path.join(baseline, 'result.json'), JSON.stringify({ trainSeconds: 3070.4, epochs: 8, threads: 1 }));
    // The prune took 412 s (with its fine-tuning between steps, which has no metrics of its own).
    const pruned = path.join(runDir, 'small', 'cifar10', 'vgg16', 'seed0', 'vgg16-A', 'pruned');
    fs.mkdirSync(pruned, { recursive: true });
    fs.writeFileSync(path.join(pruned, 'prune.json'), JSON.stringify({ accuracyBeforeFineTune: 11, seconds: 412 }));
    // Scratch-E was copied from ThiNet's run of the same training (--reuse-from).
    const scratchE = path.join(runDir, 'small', 'cifar10', 'vgg16', 'seed0', 'vgg16-A', 'scratch-e');
    fs.mkdirSync(scratchE, { recursive: true });
    fs.writeFileSync(path.join(scratchE, 'result.json'), JSON.stringify({ trainSeconds: 500, epochs: 8, threads: 1,
      reusedFrom: { dir: 'runs/study/thinet/small/cifar10/vgg16/seed0/vgg16-conv/scratch-e', method: 'thinet' } }));
    // Scratch-B started from the state Scratch-E kept after 4 epochs (200 s of Scratch-E's): it trained 8 of its 12,
    // on one thread; the 4 it shares ran on two, and its weights depend on them too.
    const scratchB = path.join(runDir, 'small', 'cifar10', 'vgg16', 'seed0', 'vgg16-A', 'scratch-b');
    fs.mkdirSync(scratchB, { recursive: true });
    fs.writeFileSync(path.join(scratchB, 'metrics.jsonl'), [...Array(12).keys()].map((e) =>
      JSON.stringify({ epoch: e + 1, testTop1: 60, seconds: e < 4 ? 50 : 20, threads: e < 4 ? 2 : 1 })).join('\n'));
    fs.writeFileSync(path.join(scratchB, 'result.json'), JSON.stringify({ trainSeconds: 700, epochs: 12, threads: 1,
      sharedStart: { from: 'scratch-e', epochs: 4, trainSeconds: 200 } }));
    const write = vi.spyOn(process.stdout, 'write').mockImplementation(() => true);
    try {
      expect(await main(['table', 'l1-norm', '--run-dir', runDir, '--results', results])).toBe(0);
    } finally {
      write.mockRestore();
    }
    expect(fs.readdirSync(path.join(results, 'l1-norm')).sort())
      .toEqual(['chart.svg', 'manifest.json', 'rows.json', 'seeds.csv', 'table.csv', 'table.md']);
    const summary = fs.readFileSync(path.join(results, 'summary.md'), 'utf8');
    expect(summary).toContain('| l1-norm | vgg16-A | 1 of 3 | Scratch-E | +1.00 [−∞, +∞] | inconclusive | +0.21 |');
    expect(fs.readFileSync(path.join(results, 'summary.svg'), 'utf8')).toMatch(/^<svg/);
    const [row] = JSON.parse(fs.readFileSync(path.join(results, 'l1-norm', 'manifest.json'), 'utf8'));
    expect(row).toMatchObject({ variant: 'vgg16-A', seed: 0, runs: [],
      trainSeconds: { baseline: 3070, prune: 412, finetune: null, 'scratch-e': 500, 'scratch-b': 500 },
      busySeconds: { baseline: 80, prune: 412, finetune: null, 'scratch-b': 160 },
      copiedStages: { 'scratch-e': 'thinet: runs/study/thinet/small/cifar10/vgg16/seed0/vgg16-conv/scratch-e' },
      stageThreads: { baseline: '2+1', 'scratch-e': '1', 'scratch-b': '2+1' } });
    expect(row).not.toHaveProperty('copiedStages.baseline');
    // A stage's sums depend on its threads: the command to train one again sets them (here they differ by stage).
    expect(row.rerunOneStage).toMatch(/&& RETHINK_PRUNE_THREADS=<its stageThreads> node /);
  });

  /** `evidence table l1-norm` over a run directory into a results folder; what it wrote to stderr. */
  async function table(runDir: string, results: string): Promise<string> {
    const out = vi.spyOn(process.stdout, 'write').mockImplementation(() => true);
    let said = '';
    const err = vi.spyOn(process.stderr, 'write').mockImplementation((s) => { said += String(s); return true; });
    try {
      expect(await main(['table', 'l1-norm', '--run-dir', runDir, '--results', results])).toBe(0);
    } finally {
      out.mockRestore();
      err.mockRestore();
    }
    return said;
  }
  const read = (results: string, file: string) => fs.readFileSync(path.join(results, 'l1-norm', file), 'utf8');

  it('sets the threads in the command that trains a stage again where every stage ran on one count, none where unrecorded', async () => {
    const runDir = fakeRuns([0, 1]); // stages without result.json: no threads recorded
    const seed0 = path.join(runDir, 'small', 'cifar10', 'vgg16', 'seed0');
    for (const stage of ['baseline', path.join('vgg16-A', 'finetune')]) {
      fs.mkdirSync(path.join(seed0, stage), { recursive: true });
      fs.writeFileSync(path.join(seed0, stage, 'result.json'), JSON.stringify({ trainSeconds: 50, epochs: 5, threads: 1 }));
    }
    const results = fs.mkdtempSync(path.join(os.tmpdir(), 'results-'));
    await table(runDir, results);
    const [first, second] = JSON.parse(read(results, 'manifest.json')) as Array<{ rerunOneStage: string; stageThreads?: object }>;
    expect(first.stageThreads).toEqual({ baseline: '1', finetune: '1' });
    expect(first.rerunOneStage).toMatch(/&& RETHINK_PRUNE_THREADS=1 node /);
    expect(second.stageThreads).toBeUndefined();
    expect(second.rerunOneStage).toMatch(/<elsewhere> && node /);
  });

  it('lists in a row\'s manifest the runs that may have trained it: none started after it, another variant\'s for the baseline', async () => {
    const runDir = fakeRuns([0]);
    const baseline = path.join(runDir, 'small', 'cifar10', 'vgg16', 'seed0', 'baseline');
    fs.writeFileSync(path.join(baseline, 'result.json'), JSON.stringify({ trainSeconds: 50, epochs: 8, threads: 1 }));
    const finetune = path.join(runDir, 'small', 'cifar10', 'vgg16', 'seed0', 'vgg16-A', 'finetune');
    fs.mkdirSync(finetune, { recursive: true });
    fs.writeFileSync(path.join(finetune, 'result.json'), JSON.stringify({ trainSeconds: 20, epochs: 2, threads: 1 }));
    // The seed's last stage was written at 10:00.
    const at = (time: string) => new Date(`2026-12-07T${time}Z`);
    fs.utimesSync(path.join(baseline, 'result.json'), at('09:00:00'), at('09:00:00'));
    fs.utimesSync(path.join(finetune, 'result.json'), at('10:00:00'), at('10:00:00'));
    const run = (started: string, models: string, seed?: number) => JSON.stringify({ commit: started, cpu: 'cpu', cores: 2,
      started: at(started).toISOString(), command: `node cli.js reproduce --models ${models}`, ...(seed === undefined ? {} : { seed }) });
    fs.writeFileSync(path.join(runDir, 'study-runs.jsonl'), [
      run('08:00:00', 'vgg16-A', 0), // trained the baseline and more
      run('08:30:00', 'vgg16-B'), // another variant, before the baseline they share was written
      run('09:30:00', 'vgg16-A,vgg16-B'), // every seed of two variants, the fine-tune among them
      run('09:40:00', 'vgg16-B'), // another variant, after the baseline
      run('09:50:00', 'vgg16-A', 1), // another seed
      run('11:00:00', 'vgg16-A'), // after: it found the seed finished
    ].join('\n'));
    const results = fs.mkdtempSync(path.join(os.tmpdir(), 'results-'));
    await table(runDir, results);
    const [row] = JSON.parse(read(results, 'manifest.json')) as Array<{ runs: Array<{ commit: string }> }>;
    expect(row.runs.map((r) => r.commit)).toEqual(['08:00:00', '08:30:00', '09:30:00']);
  });

  it('grows a table seed by seed on machines that are not kept: the committed seeds and the ones run here', async () => {
    const together = fs.mkdtempSync(path.join(os.tmpdir(), 'results-'));
    await table(fakeRuns(), together);
    const grown = fs.mkdtempSync(path.join(os.tmpdir(), 'results-'));
    await table(fakeRuns([0, 1]), grown);
    expect(JSON.parse(read(grown, 'rows.json'))[0].seeds).toEqual([0, 1]);
    // another machine, with only seed 2's runs: the table now holds the three seeds, as if run together
    await table(fakeRuns([2]), grown);
    expect(read(grown, 'rows.json')).toBe(read(together, 'rows.json'));
    expect(read(grown, 'table.md')).toContain('| vgg16-A | 34.2 | 3 | 71.00 ± 1.00 (93.63) | 69.00 ± 1.00 (93.41) |');
    expect(JSON.parse(read(grown, 'manifest.json')).map((m: { seed: number }) => m.seed)).toEqual([0, 1, 2]);
    // Per seed, in seed order although seed 2 was added last; the fake runs have no pre-fine-tune accuracy or epochs.
    const perSeed = read(grown, 'table.md').split('## Per seed')[1].split('\n').filter((l) => l.startsWith('| vgg16-A'));
    expect(perSeed).toEqual([
      '| vgg16-A | 0 | 70.00 | – | 34.2 | – | 68.00 | 69.00 | 71.00 (–) | +0.50 |',
      '| vgg16-A | 1 | 71.00 | – | 34.2 | – | 69.00 | 71.00 | 72.00 (–) | +1.00 |',
      '| vgg16-A | 2 | 72.00 | – | 34.2 | – | 70.00 | 73.00 | 73.00 (–) | +1.50 |',
    ]);
  });

  it('keeps each process\'s seeds in the run directory, for a checkout that did not run them', async () => {
    // Two processes share a run directory, one seed each: the second's results CSV replaces the first's.
    const runDir = fakeRuns([0]);
    await table(runDir, fs.mkdtempSync(path.join(os.tmpdir(), 'results-')));
    fs.cpSync(fakeRuns([1]), runDir, { recursive: true });
    expect(fs.readFileSync(path.join(runDir, 'small', 'results-cifar10.csv'), 'utf8')).not.toMatch(/vgg16-A,small,0,/);
    // Another checkout (nothing committed there) tables both seeds.
    const elsewhere = fs.mkdtempSync(path.join(os.tmpdir(), 'results-'));
    await table(runDir, elsewhere);
    expect(JSON.parse(read(elsewhere, 'rows.json'))[0].seeds).toEqual([0, 1]);
    // and gives each its manifest entry, the first process's too
    expect(JSON.parse(read(elsewhere, 'manifest.json')).map((m: { seed: number }) => m.seed)).toEqual([0, 1]);
  });

  it('lists each study\'s rows with the seeds committed so far', async () => {
    const results = fs.mkdtempSync(path.join(os.tmpdir(), 'results-'));
    await table(fakeRuns([0, 2]), results);
    let said = '';
    const out = vi.spyOn(process.stdout, 'write').mockImplementation((text) => { said += String(text); return true; });
    try {
      expect(await main(['list', '--results', results])).toBe(0);
    } finally {
      out.mockRestore();
    }
    const lines = said.split('\n');
    expect(lines).toContain('l1-norm        vgg16-A (seeds 0, 2), resnet56-A (no seed yet), resnet56-B (no seed yet)');
    expect(lines.find((l) => l.startsWith('lottery-ticket'))).toBe('lottery-ticket vgg16-A (LR 0.1: no seed yet; LR 0.01: ' +
      'no seed yet), vgg16-iterative (LR 0.1: no seed yet; LR 0.01: no seed yet)');
  });

  it('says where a seed re-run here computed another accuracy than its committed record, and takes the new one', async () => {
    const results = fs.mkdtempSync(path.join(os.tmpdir(), 'results-'));
    await table(fakeRuns(), results);
    const again = fakeRuns([0]);
    const csv = path.join(again, 'small', 'results-cifar10.csv');
    // seed 0: baseline 70, fine-tuned 68 → 68.5
    fs.writeFileSync(csv, fs.readFileSync(csv, 'utf8').replace(',0,34.2,70,68,', ',0,34.2,70,68.5,'));
    expect(await table(again, results)).toContain('vgg16-A|||0: acc_finetuned 68 committed, 68.5 here');
    // fine-tuned 68.5, 69, 70 → mean 69.17
    expect(JSON.parse(read(results, 'rows.json'))[0].accuracy.finetuned.mean).toBe(69.17);
  });

  it('says where a baseline trained again for another variant of the same model and seed came out different', () => {
    const record = (variant: string, seed: string, baseline: string) =>
      ({ row_kind: 'run', model: 'vgg19-slimming', variant, lr: '0.05', round: '', seed, acc_baseline: baseline,
        acc_baseline_plain: '75.1', acc_finetuned: '66' });
    const committed = [record('vgg19-70', '0', '76.15'), record('vgg19-70', '1', '75.9')];
    const { records, differences } = mergeSeedRecords(committed, [record('vgg19-50', '0', '76.2')]);
    expect(differences).toEqual(
      ["vgg19-slimming seed 0 (vgg19-70's record, vgg19-50 here): acc_baseline 76.15 committed, 76.2 here"]);
    expect(records.map((r) => `${r.variant} ${r.seed}`)).toEqual(['vgg19-50 0', 'vgg19-70 0', 'vgg19-70 1']);
    expect(mergeSeedRecords(committed, [record('vgg19-50', '0', '76.15')]).differences).toEqual([]);
  });

  it('keeps a committed row that has no seed records (a table written before them) when another variant is added', async () => {
    const results = fs.mkdtempSync(path.join(os.tmpdir(), 'results-'));
    await table(fakeRuns(), results);
    // the committed table held resnet56-A alone, without seeds.csv
    const legacy = { ...JSON.parse(read(results, 'rows.json'))[0], variant: 'resnet56-A' };
    fs.writeFileSync(path.join(results, 'l1-norm', 'rows.json'), JSON.stringify([legacy]));
    fs.rmSync(path.join(results, 'l1-norm', 'seeds.csv'));
    await table(fakeRuns(), results);
    expect(JSON.parse(read(results, 'rows.json')).map((r: { variant: string }) => r.variant)).toEqual(['vgg16-A', 'resnet56-A']);
  });
});
