import * as tf from '@tensorflow/tfjs';
import { mulberry32 } from '@rethink-prune/core';
import { describe, expect, it } from 'vitest';
import { lassoProblem } from './lasso';
import {
  channelContributions,
  channelPrune,
  contributionProblem,
  reconstructWeights,
  RegressionInputError,
  relativeError,
  samplePatches,
} from './regression';

function randomTensor4d(shape: [number, number, number, number], seed: number): tf.Tensor4D {
  const random = mulberry32(seed);
  const count = shape.reduce((product, size) => product * size);
  return tf.tensor4d(Float32Array.from({ length: count }, () => 2 * random() - 1), shape);
}

describe('samplePatches', () => {
  // One 2×2 image: channel 0 holds 1..4 row by row, channel 1 holds 5..8; a 2×2 'valid' kernel sees it all.
  const input = tf.tensor4d([1, 5, 2, 6, 3, 7, 4, 8], [1, 2, 2, 2]);
  const kernel = tf.ones([2, 2, 2, 1]) as tf.Tensor4D;
  const target = tf.tensor4d([36], [1, 1, 1, 1]);
  const options = { stride: 1, padding: 'valid' as const, samples: 2, seed: 1 };

  it('lays a patch out channel-major: channel 0 window row by row, then channel 1', () => {
    const sampled = samplePatches(input, kernel, target, options);
    expect(Array.from(sampled.patches)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 1, 2, 3, 4, 5, 6, 7, 8]);
    expect(Array.from(sampled.outputs)).toEqual([36, 36]);
    expect(sampled).toMatchObject({ sampleCount: 2, channels: 2, window: 4, outChannels: 1 });
  });

  it('gives Z_i = X_i W_iᵀ per channel: 1+2+3+4 and 5+6+7+8 under an all-ones kernel', () => {
    const design = channelContributions(samplePatches(input, kernel, target, options), kernel);
    expect(design).toMatchObject({ rows: 2, columns: 2 });
    expect(Array.from(design.values)).toEqual([10, 26, 10, 26]);
  });

  for (const [stride, padding] of [[1, 'valid'], [2, 'same'], [1, 'same']] as const) {
    it(`patch · kernel equals tf.conv2d at the sampled location (stride ${stride}, '${padding}')`, () => {
      const images = randomTensor4d([2, 5, 6, 3], 7);
      const weights = randomTensor4d([3, 3, 3, 4], 8);
      const convolved = tf.conv2d(images, weights, stride, padding);
      const sampled = samplePatches(images, weights, convolved, { stride, padding, samples: 40, seed: 9 });
      const nested = weights.arraySync();
      const expected = convolved.arraySync();
      for (let s = 0; s < sampled.sampleCount; s++) {
        const [image, row, col] = sampled.locations.subarray(s * 3, s * 3 + 3);
        for (let o = 0; o < 4; o++) {
          let dot = 0;
          for (let i = 0; i < 3; i++) {
            for (let ky = 0; ky < 3; ky++) {
              for (let kx = 0; kx < 3; kx++) {
                dot += sampled.patches[(s * 3 + i) * 9 + ky * 3 + kx] * nested[ky][kx][i][o];
              }
            }
          }
          expect(dot).toBeCloseTo(expected[image][row][col][o], 5);
          expect(sampled.outputs[s * 4 + o]).toBe(Math.fround(expected[image][row][col][o]));
        }
      }
      // The channel contributions of each row sum to the layer's output.
      const design = channelContributions(sampled, weights);
      for (let row = 0; row < design.rows; row++) {
        const sum = [0, 1, 2].reduce((total, i) => total + design.values[row * 3 + i], 0);
        expect(sum).toBeCloseTo(sampled.outputs[row], 5);
      }
      tf.dispose([images, weights, convolved]);
    });
  }

  it('builds the same Gram form one sample at a time as from the explicit Z', () => {
    const images = randomTensor4d([2, 4, 4, 3], 17);
    const weights = randomTensor4d([3, 3, 3, 2], 18);
    const convolved = tf.conv2d(images, weights, 1, 'same');
    const options = { stride: 1, padding: 'same' as const, samples: 12, seed: 19 };
    const sampled = samplePatches(images, weights, convolved, options);
    const streamed = contributionProblem(sampled, weights, Array.from({ length: 12 }, (_, s) => s));
    const explicit = lassoProblem(channelContributions(sampled, weights), sampled.outputs);
    expect(streamed.rows).toBe(24);
    Array.from(explicit.gram).forEach((value, index) => expect(streamed.gram[index]).toBeCloseTo(value, 10));
    Array.from(explicit.correlation).forEach((value, j) => {
      expect(streamed.correlation[j]).toBeCloseTo(value, 10);
    });
    tf.dispose([images, weights, convolved]);
  });

  it('names the field and the fix when the target does not match the conv', () => {
    const wrongTarget = tf.zeros([1, 2, 2, 1]) as tf.Tensor4D;
    expect(() => samplePatches(input, kernel, wrongTarget, options)).toThrow(RegressionInputError);
    expect(() => samplePatches(input, kernel, wrongTarget, options)).toThrow(
      /regression\.ts: target\.shape is \[1,2,2,1\] but the conv .* gives \[1,1,1,1\]/,
    );
  });
});

describe('reconstructWeights', () => {
  // Y reads only channels 1 and 3 of 4, through planted weights (and a planted bias).
  const images = randomTensor4d([3, 6, 6, 4], 21);
  const planted = randomTensor4d([3, 3, 2, 5], 22);
  const plantedBias = tf.tensor1d([0.5, -1, 2, 0, 0.25]);
  const keptImages = tf.gather(images, [1, 3], 3);
  const kernel = randomTensor4d([3, 3, 4, 5], 23);
  const options = { stride: 1, padding: 'same' as const, samples: 150, seed: 24 };

  it('recovers planted weights to 1e-4 by least squares', () => {
    const target = tf.conv2d(keptImages, planted, 1, 'same');
    const rebuilt = reconstructWeights(samplePatches(images, kernel, target, options), [1, 3]);
    expect(rebuilt.kernelShape).toEqual([3, 3, 2, 5]);
    expect(rebuilt.bias).toBeNull();
    const expected = planted.dataSync();
    rebuilt.kernel.forEach((value, index) => expect(Math.abs(value - expected[index])).toBeLessThan(1e-4));
  });

  it('recovers a planted bias as the intercept with { bias: true }', () => {
    const target = tf.add(tf.conv2d(keptImages, planted, 1, 'same'), plantedBias) as tf.Tensor4D;
    const sampled = samplePatches(images, kernel, target, options);
    const rebuilt = reconstructWeights(sampled, [1, 3], { bias: true });
    const expected = planted.dataSync();
    rebuilt.kernel.forEach((value, index) => expect(Math.abs(value - expected[index])).toBeLessThan(1e-4));
    Array.from(plantedBias.dataSync()).forEach((value, o) => expect(rebuilt.bias![o]).toBeCloseTo(value, 4));
    expect(relativeError(sampled, [1, 3], rebuilt.kernel, rebuilt.bias)).toBeLessThan(1e-10);
  });

  it('splits the weights of two kept copies evenly (minimum norm) when XᵀX is singular', () => {
    // Y = X_0·(2·shared), channel 1 = channel 0: any W_0 + W_1 = 2·shared fits; the shortest is shared each.
    const [first] = tf.split<tf.Tensor4D>(images, [1, 3], 3);
    const copies = tf.concat([first, first], 3) as tf.Tensor4D;
    const shared = randomTensor4d([3, 3, 1, 2], 25);
    const target = tf.conv2d(first, tf.mul(shared, 2) as tf.Tensor4D, 1, 'same');
    const copiesKernel = randomTensor4d([3, 3, 2, 2], 26);
    const rebuilt = reconstructWeights(samplePatches(copies, copiesKernel, target, options), [0, 1]);
    const sharedValues = shared.dataSync();
    for (let w = 0; w < 9; w++) {
      for (let o = 0; o < 2; o++) {
        expect(rebuilt.kernel[(w * 2 + 0) * 2 + o]).toBeCloseTo(sharedValues[w * 2 + o], 4);
        expect(rebuilt.kernel[(w * 2 + 1) * 2 + o]).toBeCloseTo(sharedValues[w * 2 + o], 4);
      }
    }
  });

  it('takes the minimum-norm split even where rounding leaves XᵀX barely positive definite', () => {
    // 1×1 conv over seven positions, channel 1 = channel 0, Y = 2·X_0: the shortest fit is W_0 = W_1 = 1.
    const values = [1, 2, 3, 0.5, -1, 0.75, 0.125];
    const copies = tf.tensor4d(values.flatMap((value) => [value, value]), [1, 1, 7, 2]);
    const target = tf.tensor4d(values.map((value) => 2 * value), [1, 1, 7, 1]);
    const pointwise = tf.ones([1, 1, 2, 1]) as tf.Tensor4D;
    const pointOptions = { stride: 1, padding: 'valid' as const, samples: 30, seed: 3 };
    const sampled = samplePatches(copies, pointwise, target, pointOptions);
    const rebuilt = reconstructWeights(sampled, [0, 1]);
    expect(rebuilt.kernel[0]).toBeCloseTo(1, 6);
    expect(rebuilt.kernel[1]).toBeCloseTo(1, 6);
  });

  it('rejects kept channels that are not ascending', () => {
    const target = tf.conv2d(keptImages, planted, 1, 'same');
    const sampled = samplePatches(images, kernel, target, options);
    expect(() => reconstructWeights(sampled, [3, 1])).toThrow(/kept is \[3,1\]; pass distinct ascending/);
  });
});

describe('channelPrune', () => {
  it('drops a duplicated channel before a weaker informative one, and the refit absorbs the copy', () => {
    // Channel 1 is a copy of channel 0 read through the same weights; channel 2 is independent with weights
    // a third as large, so a weight-magnitude rule would drop it first.
    const base = randomTensor4d([4, 6, 6, 2], 31);
    const [first, independent] = tf.split(base, 2, 3);
    const input = tf.concat([first, first, independent], 3) as tf.Tensor4D;
    const shared = randomTensor4d([3, 3, 1, 3], 32);
    const weak = tf.mul(randomTensor4d([3, 3, 1, 3], 33), 1 / 3);
    const kernel = tf.concat([shared, shared, weak], 2) as tf.Tensor4D;
    const target = tf.conv2d(input, kernel, 1, 'same');
    const result = channelPrune(input, kernel, target, {
      stride: 1,
      padding: 'same',
      samples: 200,
      seed: 34,
      keepCount: 2,
      lassoSamples: 40,
    });
    expect(result.kept).toContain(2);
    expect(result.kept.filter((channel) => channel < 2)).toHaveLength(1);
    expect(result.exact).toBe(true);
    // Kept with its old weights, the surviving copy carries half the shared part; refitted, all of it.
    expect(result.error.before).toBeGreaterThan(0.05);
    expect(result.error.after).toBeLessThan(1e-8);
    const sharedValues = shared.dataSync();
    for (let w = 0; w < 9; w++) {
      for (let o = 0; o < 3; o++) {
        // The copy is kept[0] (0 or 1, below 2), so its slice is the first of the two.
        const rebuilt = result.kernel[(w * 2 + 0) * 3 + o];
        expect(rebuilt).toBeCloseTo(2 * sharedValues[w * 3 + o], 4);
      }
    }
  });
});
