import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initBackend, shutdownBackend } from '../backend';
import { convKernels, namedWeights, sparseScratchInit, type MaskSet } from './masks';
import { buildModel, namedSpec } from '../spec';
import { TINY_SPEC } from '../test-util/tiny-run';
import { narrowSpec } from '../widths';
import { WEIGHT_LEVEL_FORMS } from '../test-util/folder-forms';

beforeAll(async () => { await initBackend('cpu'); });
afterAll(() => shutdownBackend());

describe('convKernels (what the weight-level and SFP scripts prune: every Conv2D weight)', () => {
  it('lists only trainable Conv2D kernels: not a frozen conv, not the slimming PreResNet\'s selections', () => {
    const tiny = buildModel(TINY_SPEC, 1);
    tiny.getLayer('features.1.conv').trainable = false;
    expect(convKernels(tiny).map(([name]) => name)).toEqual(['features.0.conv/kernel']);
    tiny.dispose();
    // PreResNet-164: 3 · 18 bottlenecks × 3 convs + the first conv + 3 projection shortcuts = 166 convs,
    // and 55 fixed 1×1 selection convs (one per block, one before the head) that must not be pruned.
    const preresnet = buildModel(narrowSpec(namedSpec('preresnet164'), 8), 1);
    const names = convKernels(preresnet).map(([name]) => name);
    expect(names).toHaveLength(166);
    expect(names.filter((name) => name.includes('select'))).toEqual([]);
    expect(names.filter((name) => name.includes('downsample'))).toHaveLength(3);
    expect(preresnet.layers.filter((layer) => layer.name.endsWith('select'))).toHaveLength(55);
    preresnet.dispose();
  });
});

/** Mean and standard deviation of the entries of `values` where `mask` is 1. */
function keptMoments(values: ArrayLike<number>, mask: ArrayLike<number>): { mean: number; std: number; count: number } {
  let [count, sum, sumSquares] = [0, 0, 0];
  for (let i = 0; i < values.length; i++) {
    if (mask[i] !== 1) continue;
    count++;
    sum += values[i];
    sumSquares += values[i] * values[i];
  }
  const mean = sum / count;
  return { mean, std: Math.sqrt(sumSquares / count - mean * mean), count };
}

describe('sparseScratchInit (cifar_E.py: N(0, √(2/n)) with n = non-zero weights of the mask / C_in)', () => {
  it('re-draws each kernel with std √(2·C_in/nnz) on a ÷2 VGG-19 with 90% of every kernel masked', () => {
    const model = buildModel(narrowSpec(WEIGHT_LEVEL_FORMS['vgg19-wl'](), 2), 1);
    const kernels = convKernels(model);
    expect(kernels).toHaveLength(16);
    // A random 10% of each kernel kept, drawn here with its own seed (not the init's).
    const masks: MaskSet = new Map(kernels.map(([name, weight], i) => [name,
      tf.tidy(() => tf.cast(tf.less(tf.randomUniform(weight.shape as number[], 0, 1, 'float32', 77 + i), 0.1),
        'float32'))]));
    sparseScratchInit(model, masks, 5);
    let checked = 0;
    for (const [name, weight] of kernels) {
      const inChannels = weight.shape[2] as number;
      const { mean, std, count } = keptMoments(weight.read().dataSync(), masks.get(name)!.dataSync());
      const expectedStd = Math.sqrt((2 * inChannels) / count);
      // ≥ 5 000 kept weights: the sample std's standard error is 1/√(2·5000) = 1% of σ; 3% is 3 of them.
      if (count < 5000) continue;
      checked++;
      expect(Math.abs(std / expectedStd - 1), `${name}: std ${std} vs ${expectedStd}`).toBeLessThan(0.03);
      expect(Math.abs(mean) / expectedStd, name).toBeLessThan(0.05);
    }
    // ÷2 VGG-19 (widths 32…256): convs 4 … 15 keep 7 372 to 58 982 weights; 4 (64→128) and 8 (128→256) have
    // C_in ≠ C_out, so √(2·C_out/nnz) would fail them by √2.
    expect(checked).toBe(12);
    model.dispose();
  });

  it('leaves a kernel whose mask keeps nothing all zero (no NaN), a kernel without a mask as it was', () => {
    const model = buildModel(TINY_SPEC, 1);
    const weights = namedWeights(model);
    const before = Array.from(weights.get('features.1.conv/kernel')!.read().dataSync());
    sparseScratchInit(model, new Map([['features.0.conv/kernel', tf.zeros([3, 3, 1, 4])]]), 3);
    expect(Array.from(weights.get('features.0.conv/kernel')!.read().dataSync())).toEqual(Array(36).fill(0));
    expect(Array.from(weights.get('features.1.conv/kernel')!.read().dataSync())).toEqual(before);
    model.dispose();
  });
});
