import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { stringify } from 'csv-stringify/sync';
import { describe, expect, it } from 'vitest';
import { experiments, findResultFiles, readRows, reportCsv, reportMarkdown } from './report';

const COLUMNS = ['row_kind', 'method', 'model', 'dataset', 'variant', 'profile', 'lr', 'round', 'backend', 'threads', 'seed', 'params',
  'flops', 'pruned_params', 'pruned_flops', 'flops_reduction_pct', 'sparsity_pct', 'latency_backend', 'latency_ms_b1',
  'pruned_latency_ms_b1', 'latency_ms_b64', 'pruned_latency_ms_b64', 'acc_baseline', 'acc_finetuned', 'acc_scratch_e',
  'acc_scratch_b', 'acc_baseline_plain', 'paper_acc_baseline', 'paper_acc_finetuned', 'paper_acc_scratch_e', 'paper_acc_scratch_b',
  'paper_source'];

const base = {
  row_kind: 'run', method: 'network-slimming', model: 'vgg19-slimming', dataset: 'cifar10', variant: 'vgg19-70',
  profile: 'paper', backend: 'wasm', threads: 2, params: 20000, flops: 400000, pruned_params: 4000,
  pruned_flops: 200000, flops_reduction_pct: 50, sparsity_pct: '', latency_backend: 'wasm (2 threads)',
  paper_acc_baseline: 93.53, paper_acc_finetuned: 93.6, paper_acc_scratch_e: 93.3, paper_acc_scratch_b: 93.81,
  paper_source: 'Table 4: CIFAR-10 / VGG-19 / 70%',
};

/** A runs directory holding the given rows as runs/<method>/<profile>/results-<dataset>.csv. */
function runsDir(files: Record<string, Array<Record<string, unknown>>>): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'report-'));
  for (const [file, rows] of Object.entries(files)) {
    fs.mkdirSync(path.dirname(path.join(dir, file)), { recursive: true });
    fs.writeFileSync(path.join(dir, file), stringify(rows.map((r) => COLUMNS.map((c) => r[c] ?? '')),
      { header: true, columns: COLUMNS }));
  }
  return dir;
}

describe('the cross-method report', () => {
  const seeds = [
    { ...base, seed: 0, acc_baseline: 93.5, acc_finetuned: 93.4, acc_scratch_e: 93.0, acc_scratch_b: 93.9,
      latency_ms_b1: 4, pruned_latency_ms_b1: 2, latency_ms_b64: 100, pruned_latency_ms_b64: 80 },
    { ...base, seed: 1, acc_baseline: 93.7, acc_finetuned: 93.8, acc_scratch_e: 93.2, acc_scratch_b: 93.7,
      latency_ms_b1: 6, pruned_latency_ms_b1: 2, latency_ms_b64: 90, pruned_latency_ms_b64: 90 },
    // The summary rows a CSV also holds are not runs.
    { ...base, row_kind: 'mean', seed: '0 1', acc_baseline: 93.6 },
  ];
  const quick = { ...base, profile: 'quick', seed: 0, acc_baseline: 53.3, acc_finetuned: 42.5, acc_scratch_e: 46.1,
    acc_scratch_b: 84, dataset: 'fashion-mnist' };
  const weightLevel = { ...base, method: 'weight-level', model: 'vgg19-wl', variant: 'vgg19-80', sparsity_pct: 80,
    seed: 0, acc_baseline: 93, acc_finetuned: 93, acc_scratch_e: 93, acc_scratch_b: 93,
    paper_source: 'Table 6 (v1): CIFAR-100 / VGG-19 / 50%', latency_ms_b1: 3, pruned_latency_ms_b1: 3 };
  const dir = runsDir({
    'method-slimming/paper/results-cifar10.csv': seeds,
    'method-slimming/quick/results-fashion-mnist.csv': [quick],
    'method-weight-level/paper/results-cifar10.csv': [weightLevel],
  });

  it('finds every results CSV and groups run rows by experiment, over seeds', () => {
    const files = findResultFiles(dir);
    expect(files.map((f) => path.relative(dir, f))).toEqual(['method-slimming/paper/results-cifar10.csv',
      'method-slimming/quick/results-fashion-mnist.csv', 'method-weight-level/paper/results-cifar10.csv']);
    const all = experiments(files.flatMap(readRows));
    expect(all.map((e) => [e.method, e.profile, e.seeds])).toEqual([['network-slimming', 'paper', 2],
      ['network-slimming', 'quick', 1], ['weight-level', 'paper', 1]]);
  });

  it('compares ours with the paper only for the paper profile on the paper\'s dataset', () => {
    const [paper, quickRun, otherDataset] = experiments(findResultFiles(dir).flatMap(readRows));
    // Fine-tuned: 93.4 and 93.8 → 93.60 ± 0.28 (sample std), paper 93.6 → +0.00; Scratch-B 93.8 − 93.81 = −0.01.
    expect(paper.cells['fine-tuned']).toEqual({ mean: 93.6, std: 0.28, paper: 93.6, diff: 0 });
    expect(paper.cells['Scratch-B'].diff).toBe(-0.01);
    expect(paper.notComparable).toBe('');
    expect(quickRun.notComparable).toMatch(/quick profile/);
    expect(quickRun.cells['Scratch-B']).toEqual({ mean: 84, std: 0, paper: 93.81, diff: null });
    expect(otherDataset.notComparable).toMatch(/another dataset/);
  });

  it('shows the measured speed-up (mean of unpruned/pruned time) and says zeros save no time', () => {
    const all = experiments(findResultFiles(dir).flatMap(readRows));
    // b1: 4/2 = 2, 6/2 = 3 → 2.5; b64: 100/80 = 1.25, 90/90 = 1 → 1.125 → 1.13 (rounded).
    expect(all[0].speedup).toEqual({ b1: 2.5, b64: 1.13 });
    const table = reportMarkdown(all);
    expect(table).toContain('| 2.50× / 1.13× |');
    expect(table).toContain('93.60 ± 0.28 (paper 93.60, +0.00)');
    expect(table).toContain('84.00 (paper 93.81) |');
    expect(table).toMatch(/1\.00× \/ – \(unstructured: dense kernels, zeros save no time\)/);
    const csv = reportCsv(all).trim().split('\n');
    expect(csv).toHaveLength(4);
    expect(csv[0]).toContain('fine-tuned_mean,fine-tuned_std,fine-tuned_paper,fine-tuned_diff');
  });

  it('takes the plain baseline as unpruned where a hooked one was trained too, and keeps the hooked one apart', () => {
    const sfpDir = runsDir({ 'method-sfp/quick/results-cifar10.csv': [{ ...base, method: 'soft-filter-pruning',
      seed: 0, acc_baseline: 38.7, acc_baseline_plain: 66.9, acc_finetuned: 60.8 }] });
    const [sfp] = experiments(findResultFiles(sfpDir).flatMap(readRows));
    expect(sfp.cells.unpruned.mean).toBe(66.9);
    expect(sfp.hookedBaseline).toBe(38.7);
    expect(reportCsv([sfp])).toMatch(/,38\.7,/);
  });

  it('keeps an LR axis apart and leaves out prune-round rows (lottery tickets: no fine-tune comparison)', () => {
    const dir = runsDir({ 'lottery-ticket/quick/results-cifar10.csv': [
      { ...base, method: 'lottery-ticket', seed: 0, lr: 0.1, round: 1, acc_baseline: 70, acc_scratch_e: 60 },
      { ...base, method: 'lottery-ticket', seed: 0, lr: 0.1, round: 2, acc_baseline: 70, acc_scratch_e: 58 },
      { ...base, method: 'other', seed: 0, lr: 0.1, round: '', acc_baseline: 71, acc_finetuned: 69 },
      { ...base, method: 'other', seed: 0, lr: 0.01, round: '', acc_baseline: 65, acc_finetuned: 64 },
    ] });
    const all = experiments(findResultFiles(dir).flatMap(readRows));
    expect(all.map((e) => [e.cells.unpruned.mean, e.cells['fine-tuned'].mean])).toEqual([[71, 69], [65, 64]]);
  });

  it('refuses a CSV that is not a results table, naming the file', () => {
    const bad = fs.mkdtempSync(path.join(os.tmpdir(), 'report-bad-'));
    fs.writeFileSync(path.join(bad, 'results-x.csv'), 'a,b\n1,2\n');
    expect(() => readRows(path.join(bad, 'results-x.csv'))).toThrow(/results-x\.csv: not a results table \(no column row_kind/);
    expect(() => findResultFiles(path.join(bad, 'nope'))).toThrow(/does not exist/);
  });
});
