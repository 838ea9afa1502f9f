import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs';
import {
  initBackend, layerActivation, loadModelDir, reconstructableLayers, loadTrainingData, mulberry32, namedWeights, pruneChannels, PROFILES, runGrid,
  shutdownBackend, trainingImages, type PruneRecord,
} from '@rethink-prune/core';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { thinetMethod } from './method';
import { thinetPrune } from './prune';
import { leastSquaresScales, relativeReconstructionError, sampleContributions, thinetSelect } from './thinet';
import { sharedTestDataDir } from '@rethink-prune/datasets';

beforeAll(async () => { await initBackend('wasm'); });
afterAll(() => shutdownBackend());

/** The pre-activation output of `layer` on `images`. */
const outputOf = (model: tf.LayersModel, layer: string, images: tf.Tensor4D) =>
  layerActivation(model, layer, 'output', images).dataSync() as Float32Array;

const relativeError = (reference: Float32Array, approximation: Float32Array) => {
  let difference = 0;
  let norm = 0;
  reference.forEach((value, i) => { difference += (value - approximation[i]) ** 2; norm += value ** 2; });
  return difference / norm;
};

describe('ThiNet on a trained VGG-16 (smoke profile, real Fashion-MNIST images)', () => {
  const runDir = fs.mkdtempSync(path.join(os.tmpdir(), 'thinet-'));
  const dataDir = sharedTestDataDir();
  const grid = { profile: PROFILES.smoke, dataset: 'fashion-mnist' as const, dataDir, seeds: 1, runDir };
  const variantDir = path.join(runDir, 'smoke', 'fashion-mnist', 'vgg16', 'seed0', 'vgg16-conv');

  it('runs baseline → ThiNet prune → fine-tune / Scratch-E / Scratch-B, halving conv1_1 … conv4_3 only', async () => {
    let printed = '';
    const write = process.stderr.write.bind(process.stderr);
    const spy = vi.spyOn(process.stderr, 'write').mockImplementation((text) => { printed += String(text); return write(text); });
    const [row, ...rest] = await runGrid(thinetMethod, { ...grid, variants: ['vgg16-conv'] }).finally(() => spy.mockRestore());
    // The authors' schedule: after each of the first nine layers, an epoch; two after conv1_2, conv2_2, conv3_3
    // (features.1, .3, .6), whose outputs are pooled; none after the last (the fine-tune stage follows).
    const schedule = [...printed.matchAll(/thinet (features\.\d+\.conv): fine-tuning (\d) epoch/g)].map((m) => `${m[1]}:${m[2]}`);
    expect(schedule).toEqual(['features.0.conv:1', 'features.1.conv:2', 'features.2.conv:1', 'features.3.conv:2',
      'features.4.conv:1', 'features.5.conv:1', 'features.6.conv:2', 'features.7.conv:1', 'features.8.conv:1']);
    expect(fs.existsSync(path.join(variantDir, 'pruned', 'between-steps'))).toBe(false);
    expect(rest).toHaveLength(0);
    expect([row.method, row.model, row.variant]).toEqual(['thinet', 'vgg16', 'vgg16-conv']);
    for (const stage of ['before_finetune', 'baseline', 'finetuned', 'scratch_e', 'scratch_b'] as const) {
      expect(row[`acc_${stage}`]).toBeGreaterThanOrEqual(0);
    }
    const record = JSON.parse(fs.readFileSync(path.join(variantDir, 'pruned', 'prune.json'), 'utf8')) as PruneRecord;
    // ÷8 VGG-16 widths 8 8 M 16 16 M 32 32 32 M 64 64 64 M 64 64 64: the first ten convs keep half, the rest all.
    expect(Object.keys(record.keep!)).toEqual(Array.from({ length: 10 }, (_, i) => `features.${i}.conv`));
    expect(Object.values(record.keep!).map((kept) => kept.length)).toEqual([4, 4, 8, 8, 16, 16, 16, 32, 32, 32]);
    expect((record.spec as { cfg: unknown[] }).cfg).toEqual([4, 4, 'M', 8, 8, 'M', 16, 16, 16, 'M', 32, 32, 32, 'M', 64, 64, 64]);
  });

  it('rebuilds the next layer better than random channels at the same ratio, on the trained layer', async () => {
    const baseline = await loadModelDir(path.join(runDir, 'smoke', 'fashion-mnist', 'vgg16', 'seed0', 'baseline', 'best'));
    const data = loadTrainingData('fashion-mnist', dataDir);
    const images = await trainingImages(data, 64, { seed: 1 });
    const activation = layerActivation(baseline.model, 'features.4.conv', 'input', images);
    const kernel = namedWeights(baseline.model).get('features.4.conv/kernel')!.read() as tf.Tensor4D;
    const sampled = sampleContributions(activation, kernel, { stride: 1, padding: 'same', samples: 2000, seed: 3 });
    const keepCount = 8; // of 16
    const thinet = thinetSelect(sampled.contributions, sampled.targets, sampled.m, sampled.channels, keepCount);
    const random = mulberry32(9);
    const randomErrors = Array.from({ length: 10 }, () => {
      const kept = Array.from({ length: 16 }, (_, c) => c).sort(() => random() - 0.5).slice(0, keepCount).sort((a, b) => a - b);
      const scales = leastSquaresScales(sampled.contributions, sampled.targets, sampled.m, sampled.channels, kept);
      return relativeReconstructionError(sampled.contributions, sampled.targets, sampled.m, sampled.channels, kept, scales);
    });
    expect(thinet.error.after).toBeLessThan(Math.min(...randomErrors));
    expect(thinet.error.after).toBeLessThanOrEqual(thinet.error.before);
    activation.dispose();
    images.dispose();
  });

  it('the pruned network\'s next conv output is closer to the original with the least-squares scales than without', async () => {
    const baseline = await loadModelDir(path.join(runDir, 'smoke', 'fashion-mnist', 'vgg16', 'seed0', 'baseline', 'best'));
    const images = await trainingImages(loadTrainingData('fashion-mnist', dataDir), 64, { seed: 2 });
    const layers = reconstructableLayers(baseline.spec, ['features.2.conv']);
    const { keep, model } = await thinetPrune(baseline.model, baseline.spec, images, { layers, keepRatio: 0.5, samplesPerImage: 20, seed: 0 });
    const scaled = pruneChannels(model, baseline.spec, keep).model;
    const unscaled = pruneChannels(baseline.model, baseline.spec, keep).model;
    const original = outputOf(baseline.model, 'features.3.conv', images);
    const [withScales, withoutScales] = [scaled, unscaled].map((m) => relativeError(original, outputOf(m, 'features.3.conv', images)));
    expect(withScales).toBeLessThan(withoutScales);
    expect(keep['features.2.conv']).toHaveLength(8);
    images.dispose();
  });
});
