import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { initBackend, PROFILES, RESULT_COLUMNS, shutdownBackend } from '@rethink-prune/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { reproduce } from './reproduce';

beforeAll(async () => { await initBackend('wasm'); });
afterAll(() => shutdownBackend());

describe('reproduce (smoke profile, real Fashion-MNIST images)', () => {
  it('runs baseline → prune → fine-tune, Scratch-E, Scratch-B and writes the shared CSV; a rerun trains nothing', async () => {
    const runDir = fs.mkdtempSync(path.join(os.tmpdir(), 'l1-'));
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'data-'));
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
