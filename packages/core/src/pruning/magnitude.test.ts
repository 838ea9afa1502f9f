import * as tf from '@tensorflow/tfjs';
import { initBackend, shutdownBackend } from '../backend';
import { buildModel, type ArchSpec } from '../spec';
import { scratchBEpochs } from '../train/recipe';
import { countSpec } from './counting';
import { convKernels, namedWeights, type MaskSet } from './masks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { iterativeMagnitudeMasks, magnitudeMasks, magnitudeThreshold } from './magnitude';

beforeAll(async () => { await initBackend('cpu'); });
afterAll(() => shutdownBackend());

/**
 * Two 3×3 convs with a bias (1→2 channels on 32×32, 2→2 on 16×16), BN, ReLU, one max pool, the functional 2×2
 * average pool and Linear(8·8·2 = 128, 10): 18 + 36 = 54 conv weights.
 */
const TINY: ArchSpec =
  { arch: 'vgg', dataset: 'mnist', cfg: [2, 'M', 2], classifier: 'linear', convBias: true, bnGamma: 1, convInit: 'fan-in' };
const CONV0 = 'features.0.conv/kernel';
const CONV1 = 'features.1.conv/kernel';
const CONV0_SIZE = 18;
const CONV1_SIZE = 36;

/** The tiny model with its conv kernels set to `values` (54 numbers in kernel order, conv 0 first). */
function tinyModel(values: number[]): tf.LayersModel {
  const model = buildModel(TINY, 1);
  const weights = namedWeights(model);
  weights.get(CONV0)!.write(tf.tensor(values.slice(0, CONV0_SIZE), [3, 3, 1, 2]));
  weights.get(CONV1)!.write(tf.tensor(values.slice(CONV0_SIZE), [3, 3, 2, 2]));
  // Far below every conv weight: were the linear layer or a bias thresholded too, t would be this.
  const others = ['classifier/kernel', 'classifier/bias', 'features.0.conv/bias', 'features.1.conv/bias'];
  for (const name of others) {
    const weight = weights.get(name)!;
    weight.write(tf.fill(weight.shape as number[], 1 / 4096));
  }
  return model;
}

/** Weight number i of the 54 has |w| = (17·i mod 54 + 1)/64 (a permutation of 1/64 … 54/64), < 0 for odd i. */
const magnitudeStep = (index: number) => ((17 * index) % 54) + 1;
const PERMUTED = Array.from({ length: 54 }, (_, index) => (index % 2 ? -1 : 1) * magnitudeStep(index) / 64);

const maskValues = (masks: MaskSet, name: string) => Array.from(masks.get(name)!.dataSync());

describe('magnitudeThreshold / magnitudeMasks (cifar_prune.py: t = sorted |w| [int(total · p)])', () => {
  // int(54 · 0.3) = 16 → t = 17/64 (37 stay); int(54 · 0.5) = 27 → 28/64 (26 stay); int(54 · 0.9) = 48 → 49/64.
  it.each([[0.3, 17, 37], [0.5, 28, 26], [0.9, 49, 5]])(
    'percent %d: t = %d/64 and exactly the weights with |w| > t stay (%d of 54)', (percent, step, kept) => {
      const model = tinyModel(PERMUTED);
      const kernels = convKernels(model).map(([, weight]) => weight.read());
      expect(magnitudeThreshold(kernels, percent)).toBe(step / 64);
      const masks = magnitudeMasks(model, percent);
      const expected = PERMUTED.map((_, index) => (magnitudeStep(index) > step ? 1 : 0));
      expect(maskValues(masks, CONV0)).toEqual(expected.slice(0, CONV0_SIZE));
      expect(maskValues(masks, CONV1)).toEqual(expected.slice(CONV0_SIZE));
      expect(expected.filter((keep) => keep === 1)).toHaveLength(kept);
      model.dispose();
    });

  it('drops every weight tied with the threshold, of either sign: more than int(total · p) go', () => {
    // 20 at ±0.25, 20 at ±0.5, 14 at ±1; int(54 · 0.5) = 27 falls among the 0.5s: all 40 of 0.25 and 0.5 go.
    const magnitudes = [...Array(20).fill(0.25), ...Array(20).fill(0.5), ...Array(14).fill(1)];
    // Spread over both kernels: weight number i takes magnitude number 5·i mod 54 (a permutation), signs alternate.
    const values = magnitudes.map((_, index) => (index % 2 ? -1 : 1) * magnitudes[(5 * index) % 54]);
    const model = tinyModel(values);
    expect(magnitudeThreshold(convKernels(model).map(([, weight]) => weight.read()), 0.5)).toBe(0.5);
    const masks = magnitudeMasks(model, 0.5);
    const expected = values.map((value) => (Math.abs(value) === 1 ? 1 : 0));
    expect([...maskValues(masks, CONV0), ...maskValues(masks, CONV1)]).toEqual(expected);
    expect(expected.filter((keep) => keep === 1)).toHaveLength(14);
    model.dispose();
  });

  it('masks the conv kernels only: not the linear layer, not the conv biases, not BN', () => {
    const model = tinyModel(PERMUTED);
    const masks = magnitudeMasks(model, 0.5);
    expect([...masks.keys()]).toEqual([CONV0, CONV1]);
    expect(masks.get(CONV0)!.shape).toEqual([3, 3, 1, 2]);
    // magnitudeMasks only computes masks; the model keeps its weights until core applies them.
    expect(Array.from(namedWeights(model).get(CONV0)!.read().dataSync())).toEqual(
      PERMUTED.slice(0, CONV0_SIZE).map((value) => Math.fround(value)));
    model.dispose();
  });
});

describe('Scratch-B budget on a worked example (count_flops.py: only non-zero conv weights count)', () => {
  it('int(160 · F_dense / F_sparse) = 377 for the tiny VGG keeping 5 of 18 and 9 of 36 conv weights', () => {
    // conv0 keeps its first 5 weights, conv1 every 4th (9 of 36).
    const masks: MaskSet = new Map([
      [CONV0, tf.tensor(Array.from({ length: CONV0_SIZE }, (_, i) => (i < 5 ? 1 : 0)), [3, 3, 1, 2])],
      [CONV1, tf.tensor(Array.from({ length: CONV1_SIZE }, (_, i) => (i % 4 === 0 ? 1 : 0)), [3, 3, 2, 2])],
    ]);
    // By hand, per image of 32×32×1:
    //   conv0 (2·18 + 2)·32·32 = 38 912   BN0 2·2 048 = 4 096   ReLU0 2 048   max pool 4·16·16·2 = 2 048
    //   conv1 (2·36 + 2)·16·16 = 18 944   BN1 2·512 = 1 024     ReLU1 512     avg pool (functional) 0
    //   linear 2·128·10 + 10 = 2 570                                           dense total 70 154
    // Sparse: conv0 (2·5 + 2)·1 024 = 12 288, conv1 (2·9 + 2)·256 = 5 120
    //   → 70 154 − 57 856 + 17 408 = 29 706.
    const dense = countSpec(TINY);
    const sparse = countSpec(TINY, masks);
    expect([dense.flops, sparse.flops]).toEqual([70154, 29706]);
    // Params: convs 20 + 38, BN γβ 4 + 4, linear 1 290 = 1 356; the 13 + 27 masked weights don't count.
    expect([dense.params, sparse.params]).toEqual([1356, 1316]);
    // 160 · 70 154 / 29 706 = 377.86 → 377 epochs.
    expect(scratchBEpochs(160, dense.flops, sparse.flops)).toBe(377);
  });
});

describe('iterativeMagnitudeMasks (cifar_prune_iterative.py: t = sorted |w| [#zeros + int(#non-zero · rate)])', () => {
  it('removes the share rate of the weights still non-zero; zeros of earlier rounds stay zero', () => {
    // Zero the weights with step ≤ 10 (10 of 54): 44 remain. t = index 10 + int(44 · 0.25) = 21 of the sorted list
    // [0 ×10, 11/64, 12/64, …, 54/64], i.e. 22/64; |w| > t keeps the steps 23 … 54 (32 weights: t itself goes too).
    const values = PERMUTED.map((value, index) => (magnitudeStep(index) <= 10 ? 0 : value));
    const model = tinyModel(values);
    const masks = iterativeMagnitudeMasks(model, 0.25);
    const expected = PERMUTED.map((_, index) => (magnitudeStep(index) > 22 ? 1 : 0));
    expect([...maskValues(masks, CONV0), ...maskValues(masks, CONV1)]).toEqual(expected);
    expect(expected.filter((keep) => keep === 1)).toHaveLength(32);
    model.dispose();
  });

  it('on a dense model it equals the one-shot prune of the same share', () => {
    const model = tinyModel(PERMUTED);
    const [iterative, oneShot] = [iterativeMagnitudeMasks(model, 0.5), magnitudeMasks(model, 0.5)];
    expect(maskValues(iterative, CONV1)).toEqual(maskValues(oneShot, CONV1));
    expect(maskValues(iterative, CONV0)).toEqual(maskValues(oneShot, CONV0));
    model.dispose();
  });
});
