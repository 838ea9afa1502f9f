import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import {
  initBackend, PROFILES, RESULT_COLUMNS, runGrid, shutdownBackend, type GridOptions,
} from '@rethink-prune/core';
import { sharedTestDataDir, writeTinyImageNet } from '@rethink-prune/datasets';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { l1Method } from './method';

const reproduce = (o: Omit<GridOptions, 'variants'> & { models: string[] }) => runGrid(l1Method, { ...o, variants: o.models });

beforeAll(async () => { await initBackend('wasm'); });
afterAll(() => shutdownBackend());

describe('reproduce (smoke profile, real Fashion-MNIST images)', () => {
  it('runs baseline → prune → fine-tune, Scratch-E, Scratch-B and writes the shared CSV; a rerun trains nothing', async () => {
    const runDir = fs.mkdtempSync(path.join(os.tmpdir(), 'l1-'));
    const dataDir = sharedTestDataDir();
    const options = { profile: PROFILES.smoke, dataset: 'fashion-mnist' as const, dataDir, models: ['vgg16-A', 'resnet56-A'], seeds: 1, runDir };
    const rows = await reproduce(options);
    expect(rows.map((r) => r.variant)).toEqual(['vgg16-A', 'resnet56-A']);
    for (const r of rows) {
      for (const k of ['acc_baseline', 'acc_finetuned', 'acc_scratch_e', 'acc_scratch_b'] as const) {
        expect(r[k]).toBeGreaterThanOrEqual(0);
        expect(r[k]).toBeLessThanOrEqual(100);
      }
      expect(r.pruned_flops as number).toBeLessThan(r.flops as number);
      expect(r.profile).toBe('smoke');
      expect(r.paper_source).toMatch(/^Table 1: CIFAR-10/);
    }
    expect(rows[0].flops_reduction_pct).toBeCloseTo(34.2, 0);
    const csv = fs.readFileSync(path.join(runDir, 'smoke', 'results-fashion-mnist.csv'), 'utf8').trim().split('\n');
    expect(csv[0]).toBe(RESULT_COLUMNS.join(','));
    expect(csv).toHaveLength(3);
    // The baseline's seconds are its own column, not added into each variant's.
    expect(rows.every((r) => (r.baseline_seconds as number) >= 0 && (r.train_seconds as number) >= 0)).toBe(true);
    for (const stage of ['baseline/result.json', 'vgg16-A/pruned/prune.json', 'vgg16-A/finetune/result.json', 'vgg16-A/scratch-e/result.json', 'vgg16-A/scratch-b/result.json']) {
      expect(fs.existsSync(path.join(runDir, 'smoke', 'fashion-mnist', 'vgg16', 'seed0', stage))).toBe(true);
    }
    // Finished stages are not repeated: the second run only reads results.
    const before = fs.statSync(path.join(runDir, 'smoke', 'fashion-mnist', 'vgg16', 'seed0', 'baseline', 'result.json')).mtimeMs;
    const again = await reproduce(options);
    expect(again.map((r) => r.acc_scratch_b)).toEqual(rows.map((r) => r.acc_scratch_b));
    expect(fs.statSync(path.join(runDir, 'smoke', 'fashion-mnist', 'vgg16', 'seed0', 'baseline', 'result.json')).mtimeMs).toBe(before);
  });
});

describe('reproduce on an ImageNet-layout folder (smoke profile, real Fashion-MNIST images as JPEGs)', () => {
  it('runs every stage of ResNet-34-A with the ImageNet recipes and writes the ImageNet row', async () => {
    const dataDir = writeTinyImageNet(sharedTestDataDir());
    const runDir = fs.mkdtempSync(path.join(os.tmpdir(), 'l1-imagenet-'));
    const [row, ...rest] = await reproduce({ profile: PROFILES.smoke, dataset: 'imagenet', dataDir, models: ['resnet34-A'], seeds: 1, runDir });
    expect(rest).toHaveLength(0);
    expect([row.dataset, row.variant, row.paper_source]).toEqual(['imagenet', 'resnet34-A', 'Table 1: ImageNet / ResNet-34 / ResNet-34-A']);
    // main_B.py: a FLOPs ratio below 2 gives int(epochs × ratio) epochs; one smoke epoch × ~1.2 → 1.
    expect([row.epochs_baseline, row.epochs_finetune, row.epochs_scratch_b]).toEqual([1, 1, 1]);
    expect(row.flops_reduction_pct as number).toBeGreaterThan(10);
    expect(row.flops_reduction_pct as number).toBeLessThan(25);
    for (const k of ['acc_baseline', 'acc_finetuned', 'acc_scratch_e', 'acc_scratch_b'] as const) {
      expect(row[k]).toBeGreaterThanOrEqual(0);
      expect(row[k]).toBeLessThanOrEqual(100);
    }
    expect(fs.existsSync(path.join(runDir, 'smoke', 'results-imagenet.csv'))).toBe(true);
  });

  it('refuses a CIFAR variant on ImageNet and an ImageNet variant on CIFAR data, before any training', async () => {
    const runDir = fs.mkdtempSync(path.join(os.tmpdir(), 'l1-bad-'));
    const dataDir = sharedTestDataDir();
    await expect(reproduce({ profile: PROFILES.smoke, dataset: 'fashion-mnist', dataDir, models: ['resnet34-B'], seeds: 1, runDir }))
      .rejects.toThrow(/ImageNet experiment; run it with --dataset imagenet/);
    expect(fs.readdirSync(runDir)).toEqual([]);
  });
});
