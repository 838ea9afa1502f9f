import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { initBackend, PROFILES, runGrid, shutdownBackend, widthsPath, type PruneRecord } from '@rethink-prune/core';
import { sharedTestDataDir, writeTinyImageNet } from '@rethink-prune/datasets';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { slimmingMethod } from './method';

beforeAll(async () => { await initBackend('wasm'); });
afterAll(() => shutdownBackend());

describe('reproduce (smoke profile, real Fashion-MNIST images)', () => {
  it('trains the sparsity and the plain baseline, prunes 70% of BN channels, and runs every stage', async () => {
    const runDir = fs.mkdtempSync(path.join(os.tmpdir(), 'slimming-'));
    const dataDir = sharedTestDataDir();
    const grid = { profile: PROFILES.smoke, dataset: 'fashion-mnist' as const, dataDir, seeds: 1, runDir };
    const [row, ...rest] = await runGrid(slimmingMethod, { ...grid, variants: ['vgg19-70'] });
    expect(rest).toHaveLength(0);
    expect([row.method, row.model, row.variant, row.paper_source])
      .toEqual(['network-slimming', 'vgg19-slimming', 'vgg19-70', 'Table 4: CIFAR-10 / VGG-19 / 70%']);
    for (const k of ['acc_baseline', 'acc_baseline_plain', 'acc_finetuned', 'acc_scratch_e', 'acc_scratch_b'] as const) {
      expect(row[k]).toBeGreaterThanOrEqual(0);
      expect(row[k]).toBeLessThanOrEqual(100);
    }
    expect([row.paper_acc_baseline, row.paper_acc_scratch_b]).toEqual([93.53, 93.81]);
    // Latency is measured (not judged: speed is a benchmark's job) on the backend that ran, and kept.
    expect(row.latency_backend).toMatch(/^wasm.* \(\d+ threads\)$/);
    for (const k of ['latency_ms_b1', 'pruned_latency_ms_b1', 'latency_ms_b64', 'pruned_latency_ms_b64'] as const) {
      expect(row[k] as number).toBeGreaterThan(0);
    }
    const seedDir = path.join(runDir, 'smoke', 'fashion-mnist', 'vgg19-slimming', 'seed0');
    // The sparsity-trained baseline is pruned; the plain one is trained beside it, with its own run key.
    expect(fs.readdirSync(seedDir).sort()).toEqual(['baseline', 'baseline-sparsity', 'vgg19-70']);
    const latency = JSON.parse(fs.readFileSync(path.join(seedDir, 'vgg19-70', 'latency.json'), 'utf8'));
    expect(latency.pruned.b64).toBe(row.pruned_latency_ms_b64);
    const record = JSON.parse(fs.readFileSync(path.join(seedDir, 'vgg19-70', 'pruned', 'prune.json'), 'utf8')) as PruneRecord;
    expect(JSON.stringify(record.identity)).toContain('"hooks":{"id":"sparsity","params":{"s":0.0001}}');
    // ÷8 VGG-19: 688 BN channels; at least int(688 · 0.7) + 1 = 482 go, less one per layer that would empty.
    const kept = Object.values(record.keep!).reduce((sum, k) => sum + k.length, 0);
    const untouched = 16 - Object.keys(record.keep!).length;
    expect(kept + untouched).toBeLessThanOrEqual(688 - 482 + 16);
    const widths = fs.readFileSync(widthsPath(grid, slimmingMethod), 'utf8');
    expect(widths).toMatch(/\| 1 \| features\.0\.conv \| 8 \| \d+\.0 ± 0\.0 \|/);
    expect(widths).toMatch(/\| \| total \| 688 \|/);
  });
});

describe('reproduce on an ImageNet-layout folder (smoke profile)', () => {
  it('runs VGG-11 (BN) at 50% with the ImageNet recipes: fine-tune ≤ 5 epochs, Scratch-B int(E × ratio)', async () => {
    const dataDir = writeTinyImageNet(sharedTestDataDir());
    const runDir = fs.mkdtempSync(path.join(os.tmpdir(), 'slimming-imagenet-'));
    const [row] = await runGrid(slimmingMethod,
      { profile: PROFILES.smoke, dataset: 'imagenet', dataDir, variants: ['vgg11-imagenet-50'], seeds: 1, runDir });
    expect([row.variant, row.paper_source]).toEqual(['vgg11-imagenet-50', 'Table 4: ImageNet / VGG-11 / 50%']);
    expect(row.epochs_finetune).toBe(1);
    // main_B.py: int(1 epoch × FLOPs ratio), no doubling cap.
    const ratio = (row.flops as number) / (row.pruned_flops as number);
    expect(row.epochs_scratch_b).toBe(Math.floor(ratio));
    expect(ratio).toBeGreaterThan(1);
  });
});
