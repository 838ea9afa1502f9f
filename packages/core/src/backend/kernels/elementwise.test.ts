import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { setUpTestBackends, TEST_BACKENDS, useBackend } from '../../test-util/backends';
import { randomArray, relativeError, seededRandom } from '../../test-util/naive-conv';

beforeAll(setUpTestBackends);

/** Max-pool gradient by the tfjs-cpu rule: each output's dy goes to the first maximum of its window. */
function naiveMaxPoolGrad(x: Float32Array, [n, h, w, c]: number[], k: number, s: number, top: number, left: number,
  dy: Float32Array, ho: number, wo: number): Float64Array {
  const dx = new Float64Array(x.length);
  for (let b = 0; b < n; b++)
    for (let i = 0; i < ho; i++)
      for (let j = 0; j < wo; j++)
        for (let ch = 0; ch < c; ch++) {
          let best = -Infinity;
          let at = -1;
          for (let a = 0; a < k; a++)
            for (let e = 0; e < k; e++) {
              const y = i * s + a - top;
              const xx = j * s + e - left;
              if (y < 0 || y >= h || xx < 0 || xx >= w) continue;
              const idx = ((b * h + y) * w + xx) * c + ch;
              if (x[idx] > best) { best = x[idx]; at = idx; }
            }
          dx[at] += dy[((b * ho + i) * wo + j) * c + ch];
        }
  return dx;
}

describe.each(TEST_BACKENDS)('max-pool gradient on %s', (backend) => {
  it.each([
    { shape: [2, 8, 8, 5], k: 2, s: 2, pad: 'valid' as const },
    { shape: [2, 7, 9, 3], k: 3, s: 2, pad: 'same' as const },
    { shape: [1, 6, 6, 4], k: 3, s: 1, pad: 'same' as const },
  ])('$k×$k stride $s $pad over $shape routes dy to the first maximum, ties included', async ({ shape, k, s, pad }) => {
    await useBackend(backend);
    const size = shape.reduce((a, d) => a * d, 1);
    const rand = seededRandom(size);
    // Half the inputs are 0, as after a ReLU, so many windows have tied maxima.
    const xv = randomArray(rand, size).map((v) => Math.max(v, 0));
    const info = tf.backend_util.computePool2DInfo(shape as [number, number, number, number], k, s, 1, pad);
    const dyv = randomArray(rand, info.outShape.reduce((a, d) => a * d, 1));
    const dx = tf.tidy(() => {
      const dy = tf.tensor(dyv, info.outShape);
      const f = (x: tf.Tensor) => tf.sum(tf.mul(tf.maxPool(x as tf.Tensor4D, k, s, pad), dy));
      return tf.grad(f)(tf.tensor(xv, shape)).dataSync();
    });
    const want = naiveMaxPoolGrad(xv, shape, k, s, info.padInfo.top, info.padInfo.left, dyv, info.outHeight, info.outWidth);
    expect(relativeError(dx, want)).toBeLessThan(1e-6);
  });
});

describe.each(TEST_BACKENDS)('average-pool gradient on %s', (backend) => {
  it.each([
    { shape: [3, 8, 8, 5], k: 2, s: 2 }, // DenseNet's transitions
    { shape: [2, 8, 8, 7], k: 8, s: 8 }, // the global pool before the classifier
    { shape: [2, 7, 9, 3], k: 3, s: 2 }, // overlapping windows, rows and columns left over
  ])('$k×$k stride $s over $shape spreads dy / k² over its window', async ({ shape, k, s }) => {
    await useBackend(backend);
    const [n, h, w, c] = shape;
    const rand = seededRandom(n * h * w * c);
    const info = tf.backend_util.computePool2DInfo(shape as [number, number, number, number], k, s, 1, 'valid');
    const [ho, wo] = [info.outHeight, info.outWidth];
    const dyv = randomArray(rand, n * ho * wo * c);
    const dx = tf.tidy(() => {
      const dy = tf.tensor(dyv, info.outShape);
      const f = (x: tf.Tensor) => tf.sum(tf.mul(tf.avgPool(x as tf.Tensor4D, k, s, 'valid'), dy));
      return tf.grad(f)(tf.zeros(shape)).dataSync();
    });
    const want = new Float64Array(n * h * w * c);
    for (let b = 0; b < n; b++)
      for (let i = 0; i < ho; i++)
        for (let j = 0; j < wo; j++)
          for (let a = 0; a < k; a++)
            for (let e = 0; e < k; e++)
              for (let ch = 0; ch < c; ch++) {
                want[((b * h + i * s + a) * w + j * s + e) * c + ch] += dyv[((b * ho + i) * wo + j) * c + ch] / (k * k);
              }
    expect(relativeError(dx, want)).toBeLessThan(1e-6);
  });
});

/** Flat index into `statsShape` of element `flat` of `shape` under NumPy broadcasting (size-1 axes repeat). */
function broadcastIndex(flat: number, shape: number[], statsShape: number[]): number {
  const stats = [...Array(shape.length - statsShape.length).fill(1), ...statsShape];
  const coords = shape.map(() => 0);
  for (let axis = shape.length - 1, rest = flat; axis >= 0; axis--) {
    coords[axis] = rest % shape[axis];
    rest = Math.floor(rest / shape[axis]);
  }
  return stats.reduce((index, size, axis) => index * size + (size === 1 ? 0 : coords[axis]), 0);
}

describe.each(TEST_BACKENDS)('batchNorm forward on %s', (backend) => {
  it.each([
    { statsShape: [6], withAffine: true },
    { statsShape: [1, 1, 1, 6], withAffine: true },
    { statsShape: [6], withAffine: false },
    { statsShape: [1, 5, 1, 6], withAffine: true }, // not per channel: the backend's own kernel, which cycles the stats
  ])('stats $statsShape (γ, β: $withAffine) match (x−m)·γ/√(v+ε)+β', async ({ statsShape, withAffine }) => {
    await useBackend(backend);
    const shape = [3, 5, 4, 6];
    const rand = seededRandom(statsShape.length * 10 + (withAffine ? 1 : 0));
    const xv = randomArray(rand, 3 * 5 * 4 * 6);
    const statsSize = statsShape.reduce((a, d) => a * d, 1);
    const [m, v, g, b] = [0, 1, 2, 3].map(() => randomArray(rand, statsSize));
    v.forEach((e, i) => (v[i] = Math.abs(e) + 0.1));
    const eps = 1e-3;
    const y = tf.tidy(() => {
      const t = (a: Float32Array) => { const r: tf.Tensor = tf.tensor(a, statsShape); return r as tf.Tensor1D; };
      return tf.batchNorm(tf.tensor4d(xv, shape as [number, number, number, number]), t(m), t(v),
        withAffine ? t(b) : undefined, withAffine ? t(g) : undefined, eps).dataSync();
    });
    const want = new Float64Array(xv.length);
    for (let i = 0; i < xv.length; i++) {
      // cpu and wasm cycle through the stats (tfjs's rule); TensorFlow broadcasts them against x's shape.
      const si = backend === 'tfjs-node' ? broadcastIndex(i, shape, statsShape) : i % statsSize;
      want[i] = ((xv[i] - m[si]) * (withAffine ? g[si] : 1)) / Math.sqrt(v[si] + eps) + (withAffine ? b[si] : 0);
    }
    expect(relativeError(y, want)).toBeLessThan(1e-5);
  });
});

describe.each(TEST_BACKENDS)('clone and same-type cast on %s', (backend) => {
  it('share data safely: the copy outlives its source and casts to another dtype still convert', async () => {
    await useBackend(backend);
    const a = tf.tensor2d([[1.5, -2], [3, 4.25]]);
    const copy = tf.clone(a);
    const same = tf.cast(a, 'float32');
    a.dispose();
    expect(Array.from(copy.dataSync())).toEqual([1.5, -2, 3, 4.25]);
    expect(Array.from(same.dataSync())).toEqual([1.5, -2, 3, 4.25]);
    copy.dispose();
    expect(Array.from(same.dataSync())).toEqual([1.5, -2, 3, 4.25]);
    const ints = tf.cast(same, 'int32');
    expect(ints.dtype).toBe('int32');
    expect(Array.from(ints.dataSync())).toEqual([1, -2, 3, 4]);
    tf.dispose([same, ints]);
  });
});

describe.each(TEST_BACKENDS)('ReLU on %s', (backend) => {
  it('passes x where x ≥ 0 (and NaN through) and gives 0 below, on a tensor that crosses threads and vectors', async () => {
    await useBackend(backend);
    const special = [2.5, -1, 0, 1e-30, -1e-30, 7, -Infinity, Infinity];
    const x = Array.from({ length: 1031 }, (_, i) => special[i % special.length]);
    const y = Array.from(tf.tidy(() => tf.relu(tf.tensor(x)).dataSync()), (v) => v + 0); // + 0: −0 counts as 0
    expect(y).toEqual(x.map((v) => (v < 0 ? 0 : Math.fround(v))));
    const withNaN = Array.from(tf.tidy(() => tf.relu(tf.tensor([NaN, -2, 3])).dataSync()));
    expect(withNaN.slice(1)).toEqual([0, 3]);
  });
});

describe.each(TEST_BACKENDS)('ReLU gradient on %s', (backend) => {
  it('passes dy where x > 0 and dy·0 elsewhere (0 at x = 0, NaN for an infinite dy)', async () => {
    await useBackend(backend);
    // Large enough to cross the native kernel's vector width and thread split.
    const x = Array.from({ length: 1030 }, (_, i) => [2.5, -1, 0, 1e-30, -0, 7][i % 6]);
    const dy = Array.from({ length: 1030 }, (_, i) => [0.5, -3, 4, 2, 1, -2][i % 6]);
    dy[1] = Infinity; // at x = −1: Inf·0 is NaN, as tfjs-core's dy·step(x)
    const dx = tf.tidy(() => tf.grad((t: tf.Tensor) => tf.sum(tf.mul(tf.relu(t), tf.tensor(dy))))(tf.tensor(x))
      .dataSync());
    const want = x.map((v, i) => (i === 1 ? NaN : v > 0 ? dy[i] : 0));
    expect(Array.from(dx, (v) => v + 0)).toEqual(want); // + 0: −0 (from dy·0 with dy < 0) counts as 0
  });
});
