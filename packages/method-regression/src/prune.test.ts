import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs';
import {
  initBackend, layerActivation, loadModelDir, loadTrainingData, namedWeights, PROFILES, runGrid, shutdownBackend,
  trainingImages, type PruneRecord,
} from '@rethink-prune/core';
import { sharedTestDataDir, writeTinyImageNet } from '@rethink-prune/datasets';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { regressionMethod } from './method';
import { channelPrune, keptKernelSlices, reconstructWeights, relativeError, samplePatches } from './regression';

beforeAll(async () => { await initBackend('wasm'); });
afterAll(() => shutdownBackend());

describe('Channel Pruning on a trained VGG-16 (smoke profile, real Fashion-MNIST images)', () => {
  const runDir = fs.mkdtempSync(path.join(os.tmpdir(), 'regression-'));
  const dataDir = sharedTestDataDir();
  const grid = { profile: PROFILES.smoke, dataset: 'fashion-mnist' as const, dataDir, seeds: 1, runDir };
  const seedDir = path.join(runDir, 'smoke', 'fashion-mnist', 'vgg16', 'seed0');

  it('runs baseline → LASSO prune with refit → fine-tune / Scratch-E / Scratch-B, halving conv1_1 … conv4_3', async () => {
    const [row] = await runGrid(regressionMethod, { ...grid, variants: ['vgg16-50'] });
    expect([row.method, row.model, row.variant]).toEqual(['regression', 'vgg16', 'vgg16-50']);
    for (const stage of ['before_finetune', 'baseline', 'finetuned', 'scratch_e', 'scratch_b'] as const) {
      expect(row[`acc_${stage}`]).toBeGreaterThanOrEqual(0);
    }
    const record = JSON.parse(fs.readFileSync(path.join(seedDir, 'vgg16-50', 'pruned', 'prune.json'), 'utf8')) as PruneRecord;
    // ÷8 VGG-16: 8 8 16 16 32 32 32 64 64 64 for conv1_1 … conv4_3, half kept exactly (the α search hits the count).
    expect(Object.values(record.keep!).map((kept) => kept.length)).toEqual([4, 4, 8, 8, 16, 16, 16, 32, 32, 32]);
  });

  it('rebuilds a trained layer\'s next conv better than L1-norm selection with the same refit', async () => {
    const baseline = await loadModelDir(path.join(seedDir, 'baseline', 'best'));
    const images = await trainingImages(loadTrainingData('fashion-mnist', dataDir), 64, { seed: 1 });
    const [input, target] = (['input', 'output'] as const).map((side) => layerActivation(baseline.model, 'features.4.conv', side, images));
    const weights = namedWeights(baseline.model);
    const kernel = weights.get('features.4.conv/kernel')!.read() as tf.Tensor4D;
    const options = { stride: 1, padding: 'same' as const, samples: 1500, seed: 3 };
    const lasso = channelPrune(input, kernel, target, { ...options, keepCount: 8 });
    // Li et al.'s choice of the same 8 of conv 3's 16 filters (largest L1 norm), refitted the same way.
    const norms = Array.from(tf.tidy(() => tf.sum(tf.abs(weights.get('features.3.conv/kernel')!.read()), [0, 1, 2]).dataSync()));
    const l1Kept = norms.map((norm, c) => [norm, c]).sort((a, b) => b[0] - a[0]).slice(0, 8).map(([, c]) => c).sort((a, b) => a - b);
    const sampled = samplePatches(input, kernel, target, options);
    const l1Refit = reconstructWeights(sampled, l1Kept);
    const l1Error = relativeError(sampled, l1Kept, l1Refit.kernel, l1Refit.bias);
    expect(lasso.kept).toHaveLength(8);
    expect(lasso.error.after).toBeLessThan(l1Error);
    expect(lasso.error.after).toBeLessThan(relativeError(sampled, lasso.kept, keptKernelSlices(sampled, kernel, lasso.kept)));
    tf.dispose([input, target, images]);
  });
});

describe('ResNet-50-2x on an ImageNet-layout folder (smoke profile)', () => {
  it('trains the published architecture from scratch (Scratch-E and Scratch-B) and names Table 3\'s row', async () => {
    const dataDir = writeTinyImageNet(sharedTestDataDir());
    const runDir = fs.mkdtempSync(path.join(os.tmpdir(), 'regression-2x-'));
    const [row] = await runGrid(regressionMethod,
      { profile: PROFILES.smoke, dataset: 'imagenet', dataDir, variants: ['resnet50-2x'], seeds: 1, runDir });
    expect([row.model, row.variant]).toEqual(['resnet50-official', 'resnet50-2x']);
    expect(row.paper_source).toMatch(/Table 3.*ResNet-50-2x/);
    for (const column of ['acc_scratch_e', 'acc_scratch_b'] as const) expect(typeof row[column]).toBe('number');
    // Fewer FLOPs than the reference through the narrowed selections and widths (the smoke copy is ÷8).
    expect(row.flops_reduction_pct as number).toBeGreaterThan(0);
  }, 300_000);
});
