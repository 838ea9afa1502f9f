import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { setUpTestBackends, TEST_BACKENDS, useBackend } from '../../test-util/backends';
import {
  type ConvGeom, naiveConv, naiveConvFilterGrad, naiveConvInputGrad, randomArray, relativeError, seededRandom,
} from '../../test-util/naive-conv';

beforeAll(setUpTestBackends);

interface Case { n: number; h: number; w: number; ci: number; co: number; k: number; s: number; pad: 'same' | 'valid' }
const CASES: Case[] = [
  { n: 2, h: 7, w: 7, ci: 3, co: 4, k: 3, s: 1, pad: 'same' },
  { n: 2, h: 7, w: 9, ci: 3, co: 5, k: 3, s: 2, pad: 'same' },
  { n: 3, h: 8, w: 8, ci: 4, co: 3, k: 3, s: 2, pad: 'same' },
  { n: 2, h: 9, w: 8, ci: 2, co: 4, k: 3, s: 2, pad: 'valid' },
  { n: 2, h: 8, w: 8, ci: 5, co: 6, k: 3, s: 1, pad: 'valid' },
  { n: 2, h: 8, w: 8, ci: 4, co: 8, k: 1, s: 1, pad: 'same' },
  { n: 2, h: 9, w: 9, ci: 4, co: 8, k: 1, s: 2, pad: 'valid' },
  { n: 1, h: 11, w: 10, ci: 3, co: 2, k: 5, s: 1, pad: 'same' },
  { n: 2, h: 6, w: 6, ci: 64, co: 32, k: 3, s: 1, pad: 'same' },
  // A ResNet-34 shortcut (1×1, stride 2, 'valid'): the native path runs it on a cropped view of the input.
  { n: 4, h: 56, w: 56, ci: 8, co: 16, k: 1, s: 2, pad: 'valid' },
  // Strided 'valid' convs that leave the input's last rows and columns unread (the native path crops them).
  { n: 2, h: 8, w: 8, ci: 3, co: 4, k: 1, s: 2, pad: 'valid' },
  { n: 2, h: 10, w: 11, ci: 3, co: 5, k: 3, s: 3, pad: 'valid' },
  // A CIFAR ResNet shortcut at batch 64: the size where the native weight gradient once corrupted the heap.
  { n: 64, h: 32, w: 32, ci: 16, co: 32, k: 1, s: 2, pad: 'valid' },
  // 2×2 maps (VGG's last stage): with oneDNN 2.6 the native filter gradient is one GEMM over the batch.
  { n: 4, h: 2, w: 2, ci: 128, co: 64, k: 3, s: 1, pad: 'same' },
];

function geometry(c: Case): ConvGeom {
  const info = tf.backend_util.computeConv2DInfo([c.n, c.h, c.w, c.ci], [c.k, c.k, c.ci, c.co], c.s, 1, c.pad);
  return { n: c.n, h: c.h, w: c.w, ci: c.ci, co: c.co, kh: c.k, kw: c.k, sh: c.s, sw: c.s,
    ho: info.outHeight, wo: info.outWidth, top: info.padInfo.top, left: info.padInfo.left };
}

describe.each(TEST_BACKENDS)('conv2d gradients on %s', (backend) => {
  it.each(CASES)('k$k s$s $pad $n×$h×$w×$ci→$co: output and gradients match direct loops within 1e-4', async (c) => {
    await useBackend(backend);
    const g = geometry(c);
    const rand = seededRandom(c.h * 100 + c.k * 10 + c.s);
    const xv = randomArray(rand, c.n * c.h * c.w * c.ci);
    const wv = randomArray(rand, c.k * c.k * c.ci * c.co);
    const dyv = randomArray(rand, c.n * g.ho * g.wo * c.co);
    const [y, dx, dw] = tf.tidy(() => {
      const x = tf.tensor4d(xv, [c.n, c.h, c.w, c.ci]);
      const w = tf.tensor4d(wv, [c.k, c.k, c.ci, c.co]);
      const dy = tf.tensor4d(dyv, [c.n, g.ho, g.wo, c.co]);
      const grads = tf.grads((xx: tf.Tensor, ww: tf.Tensor) =>
        tf.sum(tf.mul(tf.conv2d(xx as tf.Tensor4D, ww as tf.Tensor4D, c.s, c.pad), dy)));
      return [tf.conv2d(x, w, c.s, c.pad), ...grads([x, w])].map((t) => t.dataSync());
    });
    expect(relativeError(y, naiveConv(g, xv, wv))).toBeLessThan(1e-4);
    expect(relativeError(dw, naiveConvFilterGrad(g, xv, dyv))).toBeLessThan(1e-4);
    expect(relativeError(dx, naiveConvInputGrad(g, wv, dyv))).toBeLessThan(1e-4);
  });
});

describe.each(TEST_BACKENDS)('matMul gradients on %s', (backend) => {
  it.each([[5, 7, 3], [64, 33, 10], [1, 16, 4]])('%i×%i · %i×? matches AᵀR and RBᵀ', async (m, k, n) => {
    await useBackend(backend);
    const rand = seededRandom(m * k * n);
    const av = randomArray(rand, m * k);
    const bv = randomArray(rand, k * n);
    const rv = randomArray(rand, m * n);
    const [da, db] = tf.tidy(() => {
      const r = tf.tensor2d(rv, [m, n]);
      const f = (a: tf.Tensor, b: tf.Tensor) => tf.sum(tf.mul(tf.matMul(a as tf.Tensor2D, b as tf.Tensor2D), r));
      return tf.grads(f)([tf.tensor2d(av, [m, k]), tf.tensor2d(bv, [k, n])]).map((t) => t.dataSync());
    });
    const wantA = new Float64Array(m * k);
    const wantB = new Float64Array(k * n);
    for (let i = 0; i < m; i++)
      for (let j = 0; j < n; j++)
        for (let q = 0; q < k; q++) {
          wantA[i * k + q] += rv[i * n + j] * bv[q * n + j];
          wantB[q * n + j] += av[i * k + q] * rv[i * n + j];
        }
    expect(relativeError(da, wantA)).toBeLessThan(1e-5);
    expect(relativeError(db, wantB)).toBeLessThan(1e-5);
    // Transposed products, which the wrapper routes through an explicit transpose.
    const t = tf.tidy(() => tf.matMul(tf.tensor2d(av, [m, k]), tf.tensor2d(av, [m, k]), true, false).dataSync());
    const want = new Float64Array(k * k);
    for (let i = 0; i < m; i++) for (let p = 0; p < k; p++) for (let q = 0; q < k; q++) want[p * k + q] += av[i * k + p] * av[i * k + q];
    expect(relativeError(t, want)).toBeLessThan(1e-5);
  });
});

/** Batch norm in training mode, as tf.layers computes it: batch moments, then tf.batchNorm. */
function trainingBatchNorm(x: tf.Tensor4D, gamma: tf.Tensor1D, beta: tf.Tensor1D, eps: number): tf.Tensor {
  const { mean, variance } = tf.moments(x, [0, 1, 2]);
  return tf.batchNorm(x, mean, variance, beta, gamma, eps);
}

describe.each(TEST_BACKENDS)('batch-norm gradient on %s', (backend) => {
  it('matches the closed form of training-mode BN', async () => {
    await useBackend(backend);
    const [n, h, w, c] = [4, 5, 3, 6];
    const eps = 1e-5;
    const rand = seededRandom(7);
    const xv = randomArray(rand, n * h * w * c);
    const gv = randomArray(rand, c);
    const dyv = randomArray(rand, n * h * w * c);
    const [dx, dgamma, dbeta] = tf.tidy(() => {
      const dy = tf.tensor4d(dyv, [n, h, w, c]);
      const f = (x: tf.Tensor, g: tf.Tensor, b: tf.Tensor) =>
        tf.sum(tf.mul(trainingBatchNorm(x as tf.Tensor4D, g as tf.Tensor1D, b as tf.Tensor1D, eps), dy));
      return tf.grads(f)([tf.tensor4d(xv, [n, h, w, c]), tf.tensor1d(gv), tf.zeros([c])]).map((t) => t.dataSync());
    });
    // dx = γ·r/M · (M·dy − Σdy − x̂·Σ(dy·x̂)), dγ = Σ dy·x̂, dβ = Σ dy; M = n·h·w.
    const M = n * h * w;
    const want = { dx: new Float64Array(xv.length), dg: new Float64Array(c), db: new Float64Array(c) };
    for (let ch = 0; ch < c; ch++) {
      let mean = 0;
      for (let i = 0; i < M; i++) mean += xv[i * c + ch];
      mean /= M;
      let v = 0;
      for (let i = 0; i < M; i++) v += (xv[i * c + ch] - mean) ** 2;
      const r = 1 / Math.sqrt(v / M + eps);
      let sdy = 0;
      let sdyx = 0;
      for (let i = 0; i < M; i++) {
        sdy += dyv[i * c + ch];
        sdyx += dyv[i * c + ch] * (xv[i * c + ch] - mean) * r;
      }
      want.dg[ch] = sdyx;
      want.db[ch] = sdy;
      for (let i = 0; i < M; i++) {
        const xh = (xv[i * c + ch] - mean) * r;
        want.dx[i * c + ch] = (gv[ch] * r / M) * (M * dyv[i * c + ch] - sdy - xh * sdyx);
      }
    }
    expect(relativeError(dx, want.dx)).toBeLessThan(1e-4);
    expect(relativeError(dgamma, want.dg)).toBeLessThan(1e-4);
    expect(relativeError(dbeta, want.db)).toBeLessThan(1e-5);
  });
});

describe('central finite differences (wasm)', () => {
  it('conv → BN → ReLU → sum of squares: gradient matches (L(θ+h)−L(θ−h))/2h', async () => {
    await useBackend('wasm');
    const rand = seededRandom(11);
    const xv = randomArray(rand, 2 * 6 * 6 * 3);
    const wv = randomArray(rand, 3 * 3 * 3 * 4);
    const x = tf.tensor4d(xv, [2, 6, 6, 3]);
    const gamma = tf.tensor1d([1, 0.5, 2, 1.5]);
    const beta = tf.tensor1d([0.1, -0.2, 0.3, 0]);
    const loss = (w: tf.Tensor, input: tf.Tensor) =>
      tf.tidy(() => {
        const y = trainingBatchNorm(tf.conv2d(input as tf.Tensor4D, w as tf.Tensor4D, 2, 'same'), gamma, beta, 1e-3);
        return tf.sum(tf.square(tf.relu(tf.sub(y, 0.3)))) as tf.Scalar;
      });
    const [gw, gx] = tf.grads(loss)([tf.tensor4d(wv, [3, 3, 3, 4]), x]).map((t) => t.dataSync());
    const h = 1e-2; // float32: a large step keeps round-off below the truncation error
    const fd = (values: Float32Array, shape: number[], i: number, other: (t: tf.Tensor) => number) => {
      const p = values.slice(); p[i] += h;
      const m = values.slice(); m[i] -= h;
      return (other(tf.tensor(p, shape)) - other(tf.tensor(m, shape))) / (2 * h);
    };
    for (const i of [0, 17, 50, 107]) {
      const num = fd(wv, [3, 3, 3, 4], i, (w) => loss(w, x).dataSync()[0]);
      expect(Math.abs(num - gw[i])).toBeLessThan(2e-2 * Math.max(1, Math.abs(num)));
    }
    for (const i of [3, 40, 99, 200]) {
      const num = fd(xv, [2, 6, 6, 3], i, (xx) => loss(tf.tensor4d(wv, [3, 3, 3, 4]), xx).dataSync()[0]);
      expect(Math.abs(num - gx[i])).toBeLessThan(2e-2 * Math.max(1, Math.abs(num)));
    }
  });
});

describe.each(TEST_BACKENDS)('channel reductions on %s', (backend) => {
  it.each([
    { shape: [4, 5, 3, 6], axis: [0, 1, 2], keepDims: false },
    { shape: [4, 5, 3, 6], axis: [0, 1, 2], keepDims: true },
    { shape: [7, 9], axis: [0], keepDims: false },
    { shape: [3, 4, 5], axis: [0, 1], keepDims: false },
    { shape: [4, 5, 3, 6], axis: [1, 2], keepDims: false },
    { shape: [4, 5, 3, 6], axis: [-1], keepDims: false },
  ])('sum and mean of $shape over $axis (keepDims $keepDims) match a float64 loop', async ({ shape, axis, keepDims }) => {
    await useBackend(backend);
    const size = shape.reduce((a, d) => a * d, 1);
    const xv = randomArray(seededRandom(size), size);
    const [s, m, outShape] = tf.tidy(() => {
      const x = tf.tensor(xv, shape);
      const sum = tf.sum(x, axis, keepDims);
      return [sum.dataSync(), tf.mean(x, axis, keepDims).dataSync(), sum.shape];
    });
    const axes = axis.map((a) => (a < 0 ? a + shape.length : a));
    const kept = shape.filter((_, i) => !axes.includes(i));
    expect(outShape).toEqual(keepDims ? shape.map((d, i) => (axes.includes(i) ? 1 : d)) : kept);
    const want = new Float64Array(kept.reduce((a, d) => a * d, 1));
    const strides = shape.map((_, i) => shape.slice(i + 1).reduce((a, d) => a * d, 1));
    for (let i = 0; i < size; i++) {
      let o = 0;
      for (let d = 0, k = 0; d < shape.length; d++) {
        if (axes.includes(d)) continue;
        const idx = Math.floor(i / strides[d]) % shape[d];
        o = o * kept[k++] + idx;
      }
      want[o] += xv[i];
    }
    const count = size / want.length;
    expect(relativeError(s, want)).toBeLessThan(1e-5);
    expect(relativeError(m, want.map((v) => v / count))).toBeLessThan(1e-5);
  });
});

describe.each(TEST_BACKENDS)('concatenation and its gradient on %s', (backend) => {
  it.each([
    { shapes: [[4, 5, 3, 2], [4, 5, 3, 6], [4, 5, 3, 1]], axis: -1 },
    { shapes: [[64, 8, 8, 12], [64, 8, 8, 4]], axis: 3 },
    { shapes: [[6, 7], [6, 2]], axis: 1 },
    { shapes: [[4, 2, 3], [4, 5, 3]], axis: 1 }, // not the last axis: the backend's own kernels
  ])('concat of $shapes on axis $axis, and split of its gradient, match index arithmetic', async ({ shapes, axis }) => {
    await useBackend(backend);
    const rand = seededRandom(shapes.length * 31 + axis);
    const values = shapes.map((shape) => randomArray(rand, shape.reduce((a, d) => a * d, 1)));
    const a = axis < 0 ? axis + shapes[0].length : axis;
    const outer = shapes[0].slice(0, a).reduce((x, d) => x * d, 1);
    const inner = (shape: number[]) => shape.slice(a).reduce((x, d) => x * d, 1);
    const total = shapes.reduce((sum, shape) => sum + inner(shape), 0);
    const dyValues = randomArray(rand, outer * total);
    const [out, grads] = tf.tidy(() => {
      const xs = shapes.map((shape, i) => tf.tensor(values[i], shape));
      const outShape = shapes[0].map((d, i) => (i === a ? shapes.reduce((sum, s) => sum + s[a], 0) : d));
      const dy = tf.tensor(dyValues, outShape);
      const g = tf.grads((...inputs: tf.Tensor[]) => tf.sum(tf.mul(tf.concat(inputs, axis), dy)));
      return [tf.concat(xs, axis).dataSync(), g(xs).map((t) => t.dataSync())];
    });
    // Row r of the result is the parts' rows r side by side; each part's gradient is its columns of dy.
    let offset = 0;
    shapes.forEach((shape, i) => {
      const w = inner(shape);
      for (let r = 0; r < outer; r++) {
        expect(Array.from(out.subarray(r * total + offset, r * total + offset + w))).toEqual(Array.from(values[i].subarray(r * w, (r + 1) * w)));
        expect(Array.from(grads[i].subarray(r * w, (r + 1) * w))).toEqual(Array.from(dyValues.subarray(r * total + offset, r * total + offset + w)));
      }
      offset += w;
    });
  });
});

describe.each(TEST_BACKENDS)('add on %s', (backend) => {
  it('of one shape (the native kernel\'s case), broadcast and int32 (the backend\'s own) sums every element', async () => {
    await useBackend(backend);
    const rand = seededRandom(13);
    const [a, b] = [randomArray(rand, 3 * 5 * 7 * 9), randomArray(rand, 3 * 5 * 7 * 9)];
    const row = randomArray(rand, 9);
    const [same, broadcast, ints] = tf.tidy(() => [
      tf.add(tf.tensor(a, [3, 5, 7, 9]), tf.tensor(b, [3, 5, 7, 9])).dataSync(),
      tf.add(tf.tensor(a, [3, 5, 7, 9]), tf.tensor(row, [9])).dataSync(),
      tf.add(tf.tensor([1, -2, 3], [3], 'int32'), tf.tensor([4, 5, -6], [3], 'int32')).dataSync(),
    ]);
    expect(Array.from(same)).toEqual(Array.from(a, (v, i) => Math.fround(v + b[i])));
    expect(Array.from(broadcast)).toEqual(Array.from(a, (v, i) => Math.fround(v + row[i % 9])));
    expect(Array.from(ints)).toEqual([5, 3, -3]);
  });
});

describe.each(TEST_BACKENDS)('a fused conv2d with a bias and a ReLU on %s', (backend) => {
  it('gives max(conv + bias, 0) of direct loops within 1e-4 (torchvision VGG\'s and Keras models\' convs have biases)',
    async () => {
      await useBackend(backend);
      const c: Case = { n: 2, h: 9, w: 9, ci: 5, co: 7, k: 3, s: 1, pad: 'same' };
      const g = geometry(c);
      const rand = seededRandom(21);
      const xv = randomArray(rand, c.n * c.h * c.w * c.ci);
      const wv = randomArray(rand, c.k * c.k * c.ci * c.co);
      const bv = randomArray(rand, c.co);
      const y = tf.tidy(() => tf.fused.conv2d({ x: tf.tensor4d(xv, [c.n, c.h, c.w, c.ci]),
        filter: tf.tensor4d(wv, [c.k, c.k, c.ci, c.co]), strides: 1, pad: 'same',
        bias: tf.tensor4d(bv, [1, 1, 1, c.co]), activation: 'relu' }).dataSync());
      const want = naiveConv(g, xv, wv).map((v, i) => Math.max(v + bv[i % c.co], 0));
      expect(relativeError(y, want)).toBeLessThan(1e-4);
    });
});

describe('conv layers with a bias (tf.layers reshapes it to rank 4)', () => {
  it('give the same output on wasm as on cpu', async () => {
    const rand = seededRandom(9);
    const xv = randomArray(rand, 2 * 6 * 6 * 3);
    const outputs: Float32Array[] = [];
    for (const b of TEST_BACKENDS) {
      await useBackend(b);
      const layer = tf.layers.conv2d({ filters: 4, kernelSize: 3, padding: 'same', useBias: true, activation: 'relu',
        kernelInitializer: tf.initializers.randomNormal({ seed: 1 }), biasInitializer: tf.initializers.randomNormal({ seed: 2 }) });
      outputs.push((layer.apply(tf.tensor4d(xv, [2, 6, 6, 3])) as tf.Tensor).dataSync() as Float32Array);
    }
    for (const other of outputs.slice(1)) expect(relativeError(other, outputs[0])).toBeLessThan(1e-5);
  });
});
