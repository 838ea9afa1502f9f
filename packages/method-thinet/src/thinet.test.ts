import * as tf from '@tensorflow/tfjs';
import { mulberry32 } from '@rethink-prune/core';
import { describe, expect, it } from 'vitest';
import {
  greedyRemoval,
  leastSquaresScales,
  relativeReconstructionError,
  sampleContributions,
  thinetSelect,
  ThinetInputError,
} from './thinet';

/** Column-major hand input → the row-major m × C layout the functions take. */
function fromColumns(columns: number[][]): { contributions: Float32Array; m: number; channels: number } {
  const channels = columns.length;
  const m = columns[0].length;
  const contributions = new Float32Array(m * channels);
  columns.forEach((column, k) => column.forEach((value, s) => (contributions[s * channels + k] = value)));
  return { contributions, m, channels };
}

/** A seeded m × C matrix of values in [-1, 1). */
function randomMatrix(m: number, channels: number, seed: number): Float32Array {
  const random = mulberry32(seed);
  return Float32Array.from({ length: m * channels }, () => 2 * random() - 1);
}

/** targets_s = Σ_a planted[a] · X[s, kept[a]], in float64 before the one rounding to float32. */
function plantedTargets(x: Float32Array, m: number, channels: number, kept: number[], planted: number[]) {
  const targets = new Float32Array(m);
  for (let s = 0; s < m; s++) {
    let sum = 0;
    kept.forEach((k, a) => (sum += planted[a] * x[s * channels + k]));
    targets[s] = sum;
  }
  return targets;
}

describe('sampleContributions', () => {
  // 1 image, 3×3, two channels: channel 0 holds 1..9 row by row, channel 1 is all ones.
  const activationValues = [1, 1, 2, 1, 3, 1, 4, 1, 5, 1, 6, 1, 7, 1, 8, 1, 9, 1];
  // Kernel [3, 3, inC 2, outC 2]. Out 0: in 0 all ones; in 1 +1 at top-left, −1 at bottom-right.
  // Out 1: in 0 a centre tap of 2; in 1 a tap of 1 at top-middle.
  const kernelValues = new Array(3 * 3 * 2 * 2).fill(0);
  const at = (ky: number, kx: number, inC: number, outC: number) => ((ky * 3 + kx) * 2 + inC) * 2 + outC;
  for (let ky = 0; ky < 3; ky++) for (let kx = 0; kx < 3; kx++) kernelValues[at(ky, kx, 0, 0)] = 1;
  kernelValues[at(0, 0, 1, 0)] = 1;
  kernelValues[at(2, 2, 1, 0)] = -1;
  kernelValues[at(1, 1, 0, 1)] = 2;
  kernelValues[at(0, 1, 1, 1)] = 1;
  // Hand sums with zero padding 1, keyed "outChannel,row,col" → [x̂_0, x̂_1].
  const handShares: Record<string, [number, number]> = {
    '0,1,1': [45, 0], // all nine of channel 0; 1·1 + (−1)·1 on channel 1
    '0,0,0': [12, -1], // 1+2+4+5; top-left tap on padding, bottom-right on (1,1)
    '0,2,2': [28, 1], // 5+6+8+9; top-left on (1,1), bottom-right on padding
    '1,1,1': [10, 1], // 2·5; top-middle on (0,1)
    '1,0,0': [2, 0], // 2·1; top-middle on padding
    '1,2,2': [18, 1], // 2·9; top-middle on (1,2)
  };

  it('gives hand-computed window sums, and their total is tf.conv2d at the sample', () => {
    const activation = tf.tensor4d(activationValues, [1, 3, 3, 2]);
    const kernel = tf.tensor4d(kernelValues, [3, 3, 2, 2]);
    const options = { stride: 1, padding: 'same' as const, samples: 200, seed: 7 };
    const sampled = sampleContributions(activation, kernel, options);
    const convolved = tf.conv2d(activation, kernel, 1, 'same').arraySync() as number[][][][];
    const seen = new Set<string>();
    for (let s = 0; s < sampled.m; s++) {
      const [image, outChannel, row, col] = sampled.locations.subarray(s * 4, s * 4 + 4);
      const shares = Array.from(sampled.contributions.subarray(s * 2, s * 2 + 2));
      const key = `${outChannel},${row},${col}`;
      if (handShares[key]) {
        expect(shares).toEqual(handShares[key]);
        seen.add(key);
      }
      expect(sampled.targets[s]).toBeCloseTo(convolved[image][row][col][outChannel], 5);
      expect(sampled.targets[s]).toBeCloseTo(shares[0] + shares[1], 5);
    }
    expect([...seen].sort()).toEqual(Object.keys(handShares).sort());
    tf.dispose([activation, kernel]);
  });

  it("matches tf.conv2d's geometry for stride 2 and 'valid' padding on several images", () => {
    const random = mulberry32(3);
    const activation = tf.tensor4d(Array.from({ length: 2 * 5 * 6 * 3 }, random), [2, 5, 6, 3]);
    const kernel = tf.tensor4d(Array.from({ length: 3 * 3 * 3 * 4 }, () => random() - 0.5), [3, 3, 3, 4]);
    for (const padding of ['same', 'valid'] as const) {
      const sampled = sampleContributions(activation, kernel, { stride: 2, padding, samples: 60, seed: 11 });
      const convolved = tf.conv2d(activation, kernel, 2, padding).arraySync() as number[][][][];
      for (let s = 0; s < sampled.m; s++) {
        const [image, outChannel, row, col] = sampled.locations.subarray(s * 4, s * 4 + 4);
        expect(sampled.targets[s]).toBeCloseTo(convolved[image][row][col][outChannel], 5);
      }
    }
    tf.dispose([activation, kernel]);
  });

  it('refuses a kernel whose input channels do not match the activation', () => {
    const activation = tf.zeros([1, 3, 3, 2]) as tf.Tensor4D;
    const kernel = tf.zeros([3, 3, 4, 1]) as tf.Tensor4D;
    const options = { stride: 1, padding: 'same' as const, samples: 4, seed: 0 };
    expect(() => sampleContributions(activation, kernel, options)).toThrow(ThinetInputError);
    tf.dispose([activation, kernel]);
  });
});

describe('greedyRemoval (the ICCV value_sum rule)', () => {
  it('removes an all-zero channel first', () => {
    const { contributions, m, channels } = fromColumns([
      [0.5, -0.2, 0.1, 0.3],
      [1, 2, -1, 0.5],
      [0, 0, 0, 0],
      [-0.1, 0.1, 0.2, 0.05],
    ]);
    expect(greedyRemoval(contributions, m, channels, 1)).toEqual([2]);
  });

  it('removes a cancelling pair together, ahead of a channel as small as either member', () => {
    // All three have squared norm 4. Step 1: tie → channel 0. Step 2: with 0 removed, channel 2
    // (= −channel 0) costs ‖0‖² = 0 and channel 1 costs ‖[3,1,1,1]‖² = 12: 2 goes first though 1 is lower.
    const { contributions, m, channels } = fromColumns([
      [1, 1, 1, 1],
      [2, 0, 0, 0],
      [-1, -1, -1, -1],
    ]);
    expect(greedyRemoval(contributions, m, channels, 3)).toEqual([0, 2, 1]);
  });

  it('follows the running sum, not the single-channel norms (4 samples × 3 channels by hand)', () => {
    // Norms²: ch0 9, ch1 3, ch2 4. Step 1: ch1 (3). Step 2 with r = ch1 = [−1,1,1,0]:
    // ch0 → ‖[2,1,1,0]‖² = 6, ch2 → ‖[−1,1,1,2]‖² = 7, so ch0 goes although it alone is the largest.
    const { contributions, m, channels } = fromColumns([
      [3, 0, 0, 0],
      [-1, 1, 1, 0],
      [0, 0, 0, 2],
    ]);
    expect(greedyRemoval(contributions, m, channels, 3)).toEqual([1, 0, 2]);
    expect(greedyRemoval(contributions, m, channels, 0)).toEqual([]);
  });

  it('refuses a removeCount above the channel count', () => {
    const { contributions, m, channels } = fromColumns([[1], [2]]);
    expect(() => greedyRemoval(contributions, m, channels, 3)).toThrow(ThinetInputError);
  });
});

describe('leastSquaresScales', () => {
  it('recovers planted scales to 1e-4 with m ≫ C', () => {
    for (const [m, channels] of [[4000, 8], [20000, 16]]) {
      const x = randomMatrix(m, channels, 100 + channels);
      const kept = Array.from({ length: channels }, (_, k) => k).filter((k) => k % 3 !== 1);
      const planted = kept.map((_, a) => 0.25 + 0.5 * a - (a % 2) * 1.75);
      const targets = plantedTargets(x, m, channels, kept, planted);
      const scales = leastSquaresScales(x, targets, m, channels, kept);
      expect(scales.length).toBe(kept.length);
      scales.forEach((scale, a) => expect(Math.abs(scale - planted[a])).toBeLessThan(1e-4));
    }
  });

  it('recovers planted scales when m equals the kept count (a square system)', () => {
    const x = randomMatrix(5, 5, 42);
    const kept = [0, 1, 2, 3, 4];
    const planted = [2, -1, 0.5, 3, -0.25];
    const scales = leastSquaresScales(x, plantedTargets(x, 5, 5, kept, planted), 5, 5, kept);
    scales.forEach((scale, a) => expect(Math.abs(scale - planted[a])).toBeLessThan(1e-4));
  });

  it('gives finite minimum-norm scales and the minimal error when two kept channels are copies', () => {
    // Columns 0 and 1 are equal and column 2 is orthogonal to them. The projection of y = [1,3,2,5] onto
    // span{[1,1,0,0], [0,0,1,0]} has coefficients 4/2 = 2 and 2/1 = 2; the minimum-norm split of the first
    // is 1 + 1. Residual [−1, 1, 0, 5] → 27; ‖y‖² = 39. With unit scales the residual is [−1,1,1,5] → 28.
    const { contributions, m, channels } = fromColumns([
      [1, 1, 0, 0],
      [1, 1, 0, 0],
      [0, 0, 1, 0],
    ]);
    const targets = Float32Array.from([1, 3, 2, 5]);
    const scales = leastSquaresScales(contributions, targets, m, channels, [0, 1, 2]);
    expect(Array.from(scales).every(Number.isFinite)).toBe(true);
    expect(Array.from(scales).map((scale) => Number(scale.toFixed(6)))).toEqual([1, 1, 2]);
    const after = relativeReconstructionError(contributions, targets, m, channels, [0, 1, 2], scales);
    expect(after).toBeCloseTo(27 / 39, 6);
    const before = relativeReconstructionError(contributions, targets, m, channels, [0, 1, 2], [1, 1, 1]);
    expect(before).toBeCloseTo(28 / 39, 6);
  });

  it('returns no scales for no kept channels and refuses an index out of range', () => {
    const { contributions, m, channels } = fromColumns([[1, 2], [3, 4]]);
    const targets = Float32Array.from([4, 6]);
    expect(leastSquaresScales(contributions, targets, m, channels, []).length).toBe(0);
    expect(() => leastSquaresScales(contributions, targets, m, channels, [2])).toThrow(ThinetInputError);
  });
});

describe('thinetSelect with an exact copy', () => {
  // Four input channels, 4×4 activations on 2 images; channel 3 is an exact copy of channel 1 and the next
  // layer reads both through the same weights, so their contributions are equal column for column.
  function copiedLayer(copyGain: number) {
    const random = mulberry32(5);
    const activationValues: number[] = [];
    for (let position = 0; position < 2 * 4 * 4; position++) {
      const [first, twin, third] = [random(), copyGain * random(), random()];
      activationValues.push(first, twin, third, twin);
    }
    // Kernel [3, 3, inC 4, outC 3]; the slice read from channel 3 repeats the one read from channel 1.
    const kernelValues: number[] = [];
    for (let tap = 0; tap < 3 * 3; tap++) {
      const slices = [0, 1, 2].map(() => [0, 1, 2].map(() => random() - 0.3));
      for (const slice of [...slices, slices[1]]) kernelValues.push(...slice);
    }
    const activation = tf.tensor4d(activationValues, [2, 4, 4, 4]);
    const kernel = tf.tensor4d(kernelValues, [3, 3, 4, 3]);
    const options = { stride: 1, padding: 'same' as const, samples: 300, seed: 9 };
    const sampled = sampleContributions(activation, kernel, options);
    tf.dispose([activation, kernel]);
    return sampled;
  }

  it('gives the copy a column equal to its original', () => {
    const { contributions, m, channels } = copiedLayer(1);
    for (let s = 0; s < m; s++) expect(contributions[s * channels + 3]).toBe(contributions[s * channels + 1]);
  });

  it('drops one of a small pair first, and least squares then rebuilds the output exactly (scale 2)', () => {
    const { contributions, targets, m, channels } = copiedLayer(0.05);
    const selection = thinetSelect(contributions, targets, m, channels, 3);
    expect(selection.removed).toEqual([1]);
    expect(selection.kept).toEqual([0, 2, 3]);
    expect(selection.error.before).toBeGreaterThan(1e-4);
    expect(selection.error.after).toBeLessThan(1e-6);
    expect(selection.scales[0]).toBeCloseTo(1, 4);
    expect(selection.scales[1]).toBeCloseTo(1, 4);
    expect(selection.scales[2]).toBeCloseTo(2, 4);
  });

  it('keeps a large pair under the ICCV rule, though dropping either copy would have cost nothing', () => {
    // Honest note: value_sum scores a channel by the size of what it adds to the output, not by whether the
    // others can replace it, so a large copy survives and a small unique channel goes. Only the rescaling
    // step sees the redundancy: without the copy the least-squares error is 0 (the twin takes scale 2).
    const { contributions, targets, m, channels } = copiedLayer(3);
    const selection = thinetSelect(contributions, targets, m, channels, 3);
    expect(selection.removed).not.toContain(1);
    expect(selection.removed).not.toContain(3);
    expect(selection.error.after).toBeGreaterThan(1e-3);
    // Both copies are kept: the minimum-norm solution splits their common scale equally, and stays finite.
    const [firstCopy, secondCopy] = [selection.kept.indexOf(1), selection.kept.indexOf(3)];
    expect(Number.isFinite(selection.scales[firstCopy])).toBe(true);
    expect(selection.scales[firstCopy]).toBeCloseTo(selection.scales[secondCopy], 4);
    const withoutCopy = [0, 1, 2];
    const scales = leastSquaresScales(contributions, targets, m, channels, withoutCopy);
    const error = relativeReconstructionError(contributions, targets, m, channels, withoutCopy, scales);
    expect(error).toBeLessThan(1e-6);
    expect(scales[1]).toBeCloseTo(2, 4);
  });

  it('refuses a keepCount of zero', () => {
    const { contributions, m, channels } = fromColumns([[1, 2], [3, 4]]);
    const targets = Float32Array.from([4, 6]);
    expect(() => thinetSelect(contributions, targets, m, channels, 0)).toThrow(ThinetInputError);
  });
});
