import { spawnSync } from 'child_process';
import * as tf from '@tensorflow/tfjs';
import type { KernelConfig, KernelFunc, TensorInfo } from '@tensorflow/tfjs';
import { afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { type NativeConv, NATIVE_ADDON, nativeConv, nativeConvKernels, setNativeConvEnabled, wasmInternalsProblem }
  from './kernels/native-conv';
import { setUpTestBackends } from '../test-util/backends';
import {
  type ConvGeom, naiveConv, naiveConvFilterGrad, naiveConvInputGrad, randomArray, relativeError, seededRandom,
} from '../test-util/naive-conv';

// native-addon.test.ts fails where the addon should exist but does not; here it is used where it loads.
const lib = nativeConv(1);

afterEach(() => vi.restoreAllMocks());

type Pad = 'same' | 'valid' | [[number, number], [number, number], [number, number], [number, number]];
interface Case { n: number; h: number; w: number; ci: number; co: number; k: number; s: number; pad: Pad }
// Wide layers (ci·co ≥ 128²), strided and 'valid' too: the addon computes their filter gradient (and, on maps of at
// most 4×4, their forward pass) as one GEMM over the batch, from its own patch matrix.
const BATCH_GEMM_CASES: Array<Case & { forwardByGemm: boolean }> = [
  { n: 2, h: 5, w: 4, ci: 128, co: 128, k: 3, s: 2, pad: 'same', forwardByGemm: true }, // 3×2 outputs
  { n: 2, h: 6, w: 7, ci: 128, co: 160, k: 3, s: 2, pad: 'valid', forwardByGemm: true }, // 2×3
  { n: 3, h: 4, w: 4, ci: 256, co: 64, k: 1, s: 1, pad: 'valid', forwardByGemm: true }, // 4×4
  { n: 2, h: 5, w: 5, ci: 128, co: 128, k: 3, s: 1, pad: 'same', forwardByGemm: false }, // 5×5: oneDNN
];
const CASES: Case[] = [
  { n: 2, h: 7, w: 7, ci: 3, co: 4, k: 3, s: 1, pad: 'same' },
  // Strided 'valid' convs that leave the input's last column (row) unread: the addon crops the input.
  { n: 2, h: 9, w: 8, ci: 2, co: 4, k: 3, s: 2, pad: 'valid' },
  { n: 2, h: 8, w: 8, ci: 3, co: 4, k: 1, s: 2, pad: 'valid' },
  { n: 2, h: 10, w: 11, ci: 3, co: 5, k: 3, s: 3, pad: 'valid' },
  // A ResNet shortcut, whose weight gradient corrupted the heap when described with a negative far padding.
  { n: 4, h: 56, w: 56, ci: 8, co: 16, k: 1, s: 2, pad: 'valid' },
  // Explicit padding: a full far padding in height, a cropped input in width.
  { n: 2, h: 8, w: 8, ci: 3, co: 4, k: 3, s: 2, pad: [[0, 0], [1, 2], [2, 0], [0, 0]] },
  { n: 1, h: 11, w: 10, ci: 3, co: 2, k: 5, s: 1, pad: 'same' },
  // Maps of 2×2 (VGG's last stage) and 1×3, where oneDNN 2.6 takes a GEMM per image for the filter gradient and
  // the addon one GEMM over the batch instead.
  { n: 4, h: 2, w: 2, ci: 128, co: 64, k: 3, s: 1, pad: 'same' },
  { n: 3, h: 1, w: 3, ci: 64, co: 32, k: 3, s: 1, pad: 'same' },
  // Wider than 128 channels on both sides: oneDNN's blocked layout, with reorders (narrower layers stay NHWC), one
  // of them with a cropped input.
  { n: 2, h: 5, w: 5, ci: 160, co: 144, k: 3, s: 1, pad: 'same' },
  { n: 2, h: 7, w: 6, ci: 136, co: 144, k: 3, s: 2, pad: 'valid' },
  ...BATCH_GEMM_CASES,
  // Many channels to few, 'same' at stride 1: the filter gradient runs as the swapped conv's (a DenseNet's growth
  // layers), with kernels of 3, 1 and 5 and a non-square map.
  { n: 2, h: 6, w: 5, ci: 13, co: 3, k: 3, s: 1, pad: 'same' },
  { n: 3, h: 4, w: 4, ci: 40, co: 12, k: 1, s: 1, pad: 'same' },
  { n: 1, h: 7, w: 6, ci: 9, co: 2, k: 5, s: 1, pad: 'same' },
  { n: 2, h: 6, w: 6, ci: 12, co: 3, k: 2, s: 1, pad: 'same' }, // even kernel: uneven padding, not swapped
];

function shapes(c: Case): { geometry: Int32Array; reference: ConvGeom } {
  const info = tf.backend_util.computeConv2DInfo([c.n, c.h, c.w, c.ci], [c.k, c.k, c.ci, c.co], c.s, 1, c.pad);
  const pad = info.padInfo;
  const geometry = Int32Array.from([c.n, c.h, c.w, c.ci, c.co, c.k, c.k, info.outHeight, info.outWidth, c.s, c.s,
    pad.top, pad.left, pad.bottom, pad.right, 1, 1]);
  const reference = { n: c.n, h: c.h, w: c.w, ci: c.ci, co: c.co, kh: c.k, kw: c.k, sh: c.s, sw: c.s,
    ho: info.outHeight, wo: info.outWidth, top: pad.top, left: pad.left };
  return { geometry, reference };
}

const GUARD = 64;
const CANARY = -12345.5;

/** A Float32Array of `length` inside a larger buffer whose guard zones hold CANARY. */
function guarded(length: number, fill: number | Float32Array): Float32Array {
  const buffer = new Float32Array(length + 2 * GUARD).fill(CANARY);
  const view = buffer.subarray(GUARD, GUARD + length);
  if (typeof fill === 'number') view.fill(fill);
  else view.set(fill);
  return view;
}

/** The guard entries around `view` that no longer hold CANARY. */
function damagedGuards(view: Float32Array): number {
  const whole = new Float32Array(view.buffer);
  let damaged = 0;
  for (let i = 0; i < GUARD; i++) if (whole[i] !== CANARY || whole[whole.length - 1 - i] !== CANARY) damaged++;
  return damaged;
}

describe.skipIf(!lib)('native oneDNN addon, called directly', () => {
  const title = 'k$k s$s $pad $n×$h×$w×$ci→$co: matches direct loops and writes nothing outside its outputs';
  it.each(CASES)(title, (c) => {
    const { geometry, reference: g } = shapes(c);
    const rand = seededRandom(c.h * 100 + c.w * 10 + c.s);
    const x = guarded(c.n * c.h * c.w * c.ci, randomArray(rand, c.n * c.h * c.w * c.ci));
    const filter = guarded(c.k * c.k * c.ci * c.co, randomArray(rand, c.k * c.k * c.ci * c.co));
    const dy = guarded(c.n * g.ho * g.wo * c.co, randomArray(rand, c.n * g.ho * g.wo * c.co));
    // NaN-filled outputs: an element the addon forgets to write fails the comparison.
    const y = guarded(dy.length, NaN);
    const dx = guarded(x.length, NaN);
    const dw = guarded(filter.length, NaN);
    lib!.conv2d(geometry, x, filter, y);
    lib!.conv2dBackpropInput(geometry, dy, filter, dx);
    lib!.conv2dBackpropFilter(geometry, x, dy, dw);
    expect(relativeError(y, naiveConv(g, x, filter))).toBeLessThan(1e-4);
    expect(relativeError(dx, naiveConvInputGrad(g, filter, dy))).toBeLessThan(1e-4);
    expect(relativeError(dw, naiveConvFilterGrad(g, x, dy))).toBeLessThan(1e-4);
    for (const array of [x, filter, dy, y, dx, dw]) expect(damagedGuards(array)).toBe(0);
  });

  it('throws a RangeError naming the array whose length does not match the geometry, and writes nothing', () => {
    const { geometry } = shapes(CASES[0]); // 2×7×7×3 → 2×7×7×4 with a 3×3 filter
    const x = guarded(2 * 7 * 7 * 3, 0.5);
    const filter = guarded(3 * 3 * 3 * 4, 0.5);
    const shortY = guarded(2 * 7 * 7 * 4 - 1, 7);
    const call = () => lib!.conv2d(geometry, x, filter, shortY);
    expect(call).toThrow(RangeError);
    expect(call).toThrow(/y has 391 elements, the geometry needs 392/);
    expect(shortY.every((v) => v === 7)).toBe(true);
    expect(damagedGuards(shortY)).toBe(0);
    const longDx = guarded(2 * 7 * 7 * 3 + 1, 7);
    expect(() => lib!.conv2dBackpropInput(geometry, guarded(392, 1), filter, longDx))
      .toThrow(/dx has 295 elements/);
    expect(() => lib!.conv2dBackpropFilter(geometry, x, guarded(392, 1), guarded(107, 0))).toThrow(/dw has 107/);
  });

  it('rejects a geometry oneDNN would misread, with the error code the kernels pass on', () => {
    const { geometry } = shapes(CASES[0]);
    const args = [guarded(294, 1), guarded(108, 1), guarded(392, 0)] as const;
    const negativePad = geometry.slice();
    negativePad[13] = -1;
    expect(() => lib!.conv2d(negativePad, ...args)).toThrow(/padding must be >= 0/);
    const tooTall = geometry.slice();
    tooTall[7] = 9; // 9 output rows of a 3×3 'same' conv over 7 rows read past the padding
    let err: (Error & { code?: string }) | undefined;
    try {
      lib!.conv2d(tooTall, ...args);
    } catch (e) {
      err = e as Error & { code?: string };
    }
    expect(err).toBeInstanceOf(RangeError);
    expect(err!.code).toBe('ERR_NATIVE_CONV_GEOMETRY');
    expect(() => lib!.conv2d(geometry.slice(0, 16), ...args)).toThrow(TypeError);
  });

  it.each(BATCH_GEMM_CASES)('runs $h×$w×$ci→$co (stride $s) as one GEMM over the batch where that pays', (base) => {
    // The filter gradient of every wide layer; the forward pass only on maps of at most 4×4.
    const c = { ...base, n: base.n + 1 }; // a geometry not cached yet
    const { geometry, reference: g } = shapes(c);
    const rand = seededRandom(c.ci);
    const x = randomArray(rand, c.n * c.h * c.w * c.ci);
    const filter = randomArray(rand, c.k * c.k * c.ci * c.co);
    const dy = randomArray(rand, c.n * g.ho * g.wo * c.co);
    const [y, dw] = [new Float32Array(dy.length).fill(NaN), new Float32Array(filter.length).fill(NaN)];
    const before = lib!.batchGemmPlanCount();
    lib!.conv2dBackpropFilter(geometry, x, dy, dw);
    expect(lib!.batchGemmPlanCount()).toBe(before + 1);
    lib!.conv2d(geometry, x, filter, y);
    expect(lib!.batchGemmPlanCount()).toBe(before + (base.forwardByGemm ? 2 : 1));
    expect(relativeError(dw, naiveConvFilterGrad(g, x, dy))).toBeLessThan(1e-4);
    expect(relativeError(y, naiveConv(g, x, filter))).toBeLessThan(1e-4);
  });

  it('caches one plan per op and geometry', () => {
    const c: Case = { n: 1, h: 13, w: 13, ci: 2, co: 3, k: 3, s: 1, pad: 'same' };
    const { geometry } = shapes(c);
    const x = new Float32Array(13 * 13 * 2);
    const filter = new Float32Array(3 * 3 * 2 * 3);
    const y = new Float32Array(13 * 13 * 3);
    const before = lib!.planCount();
    lib!.conv2d(geometry, x, filter, y);
    expect(lib!.planCount()).toBe(before + 1);
    lib!.conv2d(geometry, x, filter, y);
    expect(lib!.planCount()).toBe(before + 1);
    lib!.conv2dBackpropInput(geometry, y, filter, x);
    expect(lib!.planCount()).toBe(before + 2);
  });

  // oneDNN's JIT GEMM points the stack pointer into the heap (oneDNN issue 4845): a signal handled on a thread inside
  // it wrote its frame over the heap, and glibc aborted later. The V8 profiler's SIGPROF every 0.1 ms made that
  // happen within the first few hundred GEMMs, every time, before the addon held signals back during its calls.
  it('survives the CPU profiler sampling while its GEMM paths run', () => {
    const child = `
      const session = new (require('inspector').Session)();
      session.connect();
      const lib = require(${JSON.stringify(NATIVE_ADDON)});
      const geometry = new Int32Array([8, 2, 2, 128, 128, 3, 3, 2, 2, 1, 1, 1, 1, 1, 1, 1, 1]);
      const x = new Float32Array(8 * 2 * 2 * 128).fill(1), w = new Float32Array(9 * 128 * 128).fill(0.5);
      const y = new Float32Array(8 * 2 * 2 * 128), dw = new Float32Array(w.length);
      session.post('Profiler.enable', () => session.post('Profiler.setSamplingInterval', { interval: 100 }, () =>
        session.post('Profiler.start', () => {
          for (let i = 0; i < 400; i++) { lib.conv2d(geometry, x, w, y); lib.conv2dBackpropFilter(geometry, x, y, dw); }
          process.stdout.write('done ' + lib.batchGemmPlanCount() + ' ' + y[0] + '\\n');
        })));`;
    const run = spawnSync(process.execPath, ['-e', child], { encoding: 'utf8', timeout: 120_000,
      env: { ...process.env, OMP_NUM_THREADS: '1' } });
    expect(run.stderr).not.toMatch(/corrupt|double free|malloc/);
    expect(run.status).toBe(0);
    // Both ops ran as one GEMM over the batch; each output of a 2×2 map reads 4 of its 9 taps: 4·128 × 1 × 0.5.
    expect(run.stdout.trim()).toBe(`done 2 ${4 * 128 * 0.5}`);
  });
});

describe('native kernels on the wasm backend', () => {
  beforeAll(setUpTestBackends);

  const oneDnnFailure = () => Object.assign(new Error('oneDNN: could not create a primitive descriptor'),
    { code: 'ERR_ONEDNN' });
  const throwingLib = (error: () => Error): NativeConv => ({
    conv2d: () => { throw error(); },
    conv2dBackpropInput: () => { throw error(); },
    conv2dBackpropFilter: () => { throw error(); },
    version: () => 'test', protocol: () => 13, planCount: () => 0, batchGemmPlanCount: () => 0,
    channelAffine: () => { throw error(); },
    copyChannels: () => { throw error(); },
    gatherChannels: () => { throw error(); },
    batchNormForward: () => { throw error(); },
    batchNormBackward: () => { throw error(); },
    batchNormReluForward: () => { throw error(); },
    movingAverages: () => { throw error(); },
    batchNormReluBackward: () => { throw error(); },
    add: () => { throw error(); },
    addRelu: () => { throw error(); },
    relu: () => { throw error(); },
    reluGrad: () => { throw error(); },
    maxPoolGrad: () => { throw error(); },
    avgPoolGrad: () => { throw error(); },
    sgdStep: () => { throw error(); },
  });

  /** Registers `testLib`'s kernels over the current ones, runs `body`, then puts the current ones back. */
  async function withKernels(testLib: NativeConv, body: (stockCalls: () => number) => void): Promise<void> {
    await tf.setBackend('wasm');
    const current = tf.getKernel('Conv2D', 'wasm')!;
    let calls = 0;
    const countingFunc = (args: Parameters<KernelFunc>[0]) => {
      calls++;
      return current.kernelFunc(args);
    };
    const counting: KernelConfig = { ...current, kernelFunc: countingFunc as KernelFunc };
    const [conv] = nativeConvKernels(testLib, 'wasm', { Conv2D: counting });
    tf.unregisterKernel('Conv2D', 'wasm');
    tf.registerKernel(conv);
    setNativeConvEnabled(true, 0);
    try {
      body(() => calls);
    } finally {
      tf.unregisterKernel('Conv2D', 'wasm');
      tf.registerKernel(current);
      setNativeConvEnabled(false, 0);
    }
  }

  it('falls back to the wasm kernel when oneDNN throws, warns once on one line, and leaks no tensor', async () => {
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => undefined);
    const c = CASES[0];
    const { reference } = shapes(c);
    const rand = seededRandom(5);
    const xv = randomArray(rand, c.n * c.h * c.w * c.ci);
    const wv = randomArray(rand, c.k * c.k * c.ci * c.co);
    await withKernels(throwingLib(oneDnnFailure), (stockCalls) => {
      const backend = tf.backend() as unknown as { numDataIds(): number };
      const before = backend.numDataIds();
      for (let step = 0; step < 2; step++) {
        const y = tf.tidy(() => tf.conv2d(tf.tensor4d(xv, [c.n, c.h, c.w, c.ci]),
          tf.tensor4d(wv, [c.k, c.k, c.ci, c.co]), c.s, c.pad).dataSync());
        expect(relativeError(y, naiveConv(reference, xv, wv))).toBeLessThan(1e-4);
      }
      expect(stockCalls()).toBe(2);
      expect(backend.numDataIds()).toBe(before);
    });
    expect(warn).toHaveBeenCalledTimes(1);
    const line = String(warn.mock.calls[0][0]);
    expect(line).toMatch(/Conv2D 2×7×7×3→4 k3×3 s1×1 runs on wasm: oneDNN: could not create/);
    expect(line).not.toContain('\n');
  });

  it('lets a caller mistake (a geometry error) through instead of hiding it, and frees its output', async () => {
    const mistake = () => Object.assign(new RangeError('y has 1 elements'), { code: 'ERR_NATIVE_CONV_GEOMETRY' });
    await withKernels(throwingLib(mistake), () => {
      const backend = tf.backend() as unknown as { numDataIds(): number };
      const x = tf.ones([1, 4, 4, 1]) as tf.Tensor4D;
      const w = tf.ones([3, 3, 1, 1]) as tf.Tensor4D;
      const before = backend.numDataIds();
      expect(() => tf.conv2d(x, w, 1, 'same')).toThrow(/y has 1 elements/);
      expect(backend.numDataIds()).toBe(before);
      tf.dispose([x, w]);
    });
  });

  it('finds the private wasm internals it uses on the real backend', async () => {
    await tf.setBackend('wasm');
    expect(wasmInternalsProblem(tf.backend())).toBeUndefined();
  });

  it('uses the stock kernel, with a warning, on a backend whose internals are not as expected', () => {
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => undefined);
    const changedBackend = { makeOutput: () => ({}), readSync: () => new Float32Array(2), disposeData: () => true };
    expect(wasmInternalsProblem(changedBackend)).toMatch(/the wasm backend lacks typedArrayFromHeap/);
    const stockResult = { dataId: {}, shape: [1, 4, 4, 1], dtype: 'float32' } as TensorInfo;
    const stock = { kernelName: 'Conv2D', backendName: 'wasm', kernelFunc: () => stockResult } as KernelConfig;
    const [conv] = nativeConvKernels(throwingLib(oneDnnFailure), 'wasm', { Conv2D: stock });
    setNativeConvEnabled(true, 0);
    try {
      const inputs = { x: { shape: [1, 4, 4, 1] }, filter: { shape: [3, 3, 1, 1] } } as any;
      const attrs = { strides: 1, pad: 'same', dilations: 1, dataFormat: 'NHWC' } as any;
      expect(conv.kernelFunc({ inputs, attrs, backend: changedBackend as any })).toBe(stockResult);
    } finally {
      setNativeConvEnabled(false, 0);
    }
    expect(warn).toHaveBeenCalledTimes(1);
    expect(String(warn.mock.calls[0][0])).toMatch(/native convolutions not used: the wasm backend lacks/);
  });
});
