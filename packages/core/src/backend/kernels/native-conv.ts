import * as fs from 'fs';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs';
import type { KernelConfig, KernelFunc, TensorInfo } from '@tensorflow/tfjs';
import { KernelComposer } from './compose';

/**
 * Optional native convolutions (oneDNN) for the wasm backend. `npm install` builds `build/onednn-conv.node`
 * where oneDNN's headers are present (scripts/build-native.js); the kernels then compute straight on the
 * wasm heap. Without it, or with RETHINK_PRUNE_NATIVE=0, the wasm kernels (XNNPACK) do the work.
 */
export interface NativeConv {
  conv2d(geometry: Int32Array, x: Float32Array, filter: Float32Array, y: Float32Array): void;
  conv2dBackpropInput(geometry: Int32Array, dy: Float32Array, filter: Float32Array, dx: Float32Array): void;
  conv2dBackpropFilter(geometry: Int32Array, x: Float32Array, dy: Float32Array, dw: Float32Array): void;
  version(): string;
  /** The calling convention the addon was built for; must equal NATIVE_PROTOCOL. */
  protocol(): number;
  /** Primitive plans (one per op and geometry) the addon has cached. */
  planCount(): number;
  /** How many of them run as one GEMM over the batch (filter gradients and forward passes of wide layers). */
  batchGemmPlanCount(): number;
  /** Training batch norm over all axes but the last (C = gamma.length): y, and the batch mean and variance. */
  batchNormForward(x: Float32Array, gamma: Float32Array, beta: Float32Array, epsilon: number, y: Float32Array,
    mean: Float32Array, variance: Float32Array): void;
  batchNormBackward(dy: Float32Array, x: Float32Array, mean: Float32Array, variance: Float32Array,
    gamma: Float32Array, epsilon: number, dx: Float32Array, dgamma: Float32Array, dbeta: Float32Array): void;
  /** BN's moving statistics after a batch: m − (m − batch)·(1 − momentum) for the mean and the variance. */
  movingAverages(movingMean: Float32Array, movingVariance: Float32Array, mean: Float32Array, variance: Float32Array,
    momentum: number, newMean: Float32Array, newVariance: Float32Array): void;
  /** batchNormForward followed by ReLU in the same pass: y = max(BN(x), 0). */
  batchNormReluForward(x: Float32Array, gamma: Float32Array, beta: Float32Array, epsilon: number, y: Float32Array,
    mean: Float32Array, variance: Float32Array): void;
  /** batchNormBackward of dy·step(y), y the fused forward's output (the ReLU's gradient mask, as reluGrad's). */
  batchNormReluBackward(dy: Float32Array, y: Float32Array, x: Float32Array, mean: Float32Array, variance: Float32Array,
    gamma: Float32Array, epsilon: number, dx: Float32Array, dgamma: Float32Array, dbeta: Float32Array): void;
  /** y = x·a + b per channel of the last axis (C = a.length): inference-mode BN with its statistics folded in. */
  channelAffine(x: Float32Array, a: Float32Array, b: Float32Array, y: Float32Array): void;
  /**
   * The rows (all axes but the last) of `whole` are the rows of `parts` side by side: gather copies parts → whole
   * (Concat on the last axis), else whole → parts (SplitV).
   */
  copyChannels(parts: Float32Array[], whole: Float32Array, gather: boolean, rows: number): void;
  /** Row r of y (its last axis) is row r of x at the channels `picks` (−1: 0): GatherV2 on the last axis. */
  gatherChannels(x: Float32Array, picks: Int32Array, y: Float32Array, rows: number): void;
  /** y = a + b elementwise, all three of one length. */
  add(a: Float32Array, b: Float32Array, y: Float32Array): void;
  /** y = max(a + b, 0) elementwise (relu's rule), all three of one length. */
  addRelu(a: Float32Array, b: Float32Array, y: Float32Array): void;
  /** y = x where x is not below 0, else 0 (NaN and −0 pass through, as tfjs-cpu's ReLU). */
  relu(x: Float32Array, y: Float32Array): void;
  /** dx = dy where x > 0, else dy·0 (NaN for a non-finite dy or x), as tfjs's dy · step(x). */
  reluGrad(dy: Float32Array, x: Float32Array, dx: Float32Array): void;
  /** geometry: n h w c ho wo kh kw sh sw padTop padLeft. */
  maxPoolGrad(geometry: Int32Array, x: Float32Array, dy: Float32Array, dx: Float32Array): void;
  /** Each output's gradient / (kh·kw) to every input of its window; geometry as maxPoolGrad's, x for its length. */
  avgPoolGrad(geometry: Int32Array, x: Float32Array, dy: Float32Array, dx: Float32Array): void;
  /** train/sgd.ts's update of every weight in one pass: the new weights and velocities, an array entry per weight. */
  sgdStep(weights: Float32Array[], gradients: Float32Array[], velocities: Float32Array[], lr: number, momentum: number,
    weightDecay: number, nesterov: boolean, newWeights: Float32Array[], newVelocities: Float32Array[]): void;
}

/** A native addon that cannot be used as it is (stale build, wrong calling convention). */
export class NativeConvError extends Error {
  constructor(message: string) {
    super(`backend/kernels/native-conv.ts: ${message}`);
    this.name = 'NativeConvError';
  }
}

export const NATIVE_ENV = 'RETHINK_PRUNE_NATIVE';
export const NATIVE_ADDON = path.join(__dirname, '..', '..', '..', 'build', 'onednn-conv.node');
/** The calling convention of native/onednn-conv.cc (its kProtocol); bump both together. */
export const NATIVE_PROTOCOL = 13;
/** The error code the addon gives oneDNN's own failures; those fall back to wasm for that call. */
const ONEDNN_ERROR_CODE = 'ERR_ONEDNN';
const REBUILD_HINT = 'rebuild it with `npx nx run core:build-native`';

let addon: NativeConv | null | undefined;
let unavailableReason: string | undefined;
/**
 * Convolutions below this many multiply-adds stay on wasm. None do: since the addon caches its primitives,
 * even a ÷4 ResNet-56 (9.4M-MAC convs) trains faster with every conv in oneDNN than with a 2^25 cut-off.
 */
export const NATIVE_MIN_MACS = 0;
let enabled = true;
let minMacs = NATIVE_MIN_MACS;

/**
 * Switches the registered native kernels off (wasm's own then run) or back on, optionally with another size
 * threshold (tests use 0 to send every conv to oneDNN); for comparisons and tests.
 */
export function setNativeConvEnabled(on: boolean, threshold = NATIVE_MIN_MACS): void {
  enabled = on;
  minMacs = threshold;
}

/** Whether the registered native kernels run (setNativeConvEnabled), for the ops that choose their kernels. */
export function nativeKernelsEnabled(): boolean {
  return enabled;
}

const warned = new Set<string>();
/** Prints `message` on one line, the first time only. */
function warnOnce(message: string): void {
  if (warned.has(message)) return;
  warned.add(message);
  console.warn(`@rethink-prune/core: ${message}`);
}

/** Why `loaded` cannot serve as the addon, or undefined when it can. */
function addonProblem(addonPath: string, loaded: Partial<NativeConv>): string | undefined {
  const protocol = typeof loaded.protocol === 'function' ? loaded.protocol() : 1;
  if (protocol !== NATIVE_PROTOCOL) return `${addonPath} is stale (protocol ${protocol}, want ${NATIVE_PROTOCOL})`;
  return undefined;
}

/**
 * The addon, or null when it is not built, cannot load, is stale, is switched off, or the wasm backend's
 * internals are not as it expects. A present addon that fails prints its reason once. `addonPath` is for tests.
 */
export function nativeConv(threads: number, addonPath = NATIVE_ADDON): NativeConv | null {
  if (addon !== undefined) return addon;
  if (process.env[NATIVE_ENV] === '0') return (addon = null);
  if (!fs.existsSync(addonPath)) {
    unavailableReason = 'not built';
    return (addon = null);
  }
  // OpenMP reads this once, when the addon loads. Its wait policy stays OpenMP's default: a worker spins a moment
  // between parallel regions (libgomp: 300 000 iterations, fewer when oversubscribed), then sleeps. PASSIVE (sleep at
  // once) woke a worker through the kernel for every region: the thousands of small ones of a narrow ResNet's step
  // ran ResNet-56 ÷4 at 368 img/s on 2 threads, slower than one thread (437); spinning, 544.
  process.env.OMP_NUM_THREADS ??= String(threads);
  try {
    const loaded = require(addonPath) as NativeConv;
    const problem = addonProblem(addonPath, loaded);
    if (problem) throw new NativeConvError(`${problem}; ${REBUILD_HINT}`);
    addon = loaded;
  } catch (e) {
    unavailableReason = (e as Error).message.split('\n')[0];
    warnOnce(`native convolutions not used: ${unavailableReason}`);
    return (addon = null);
  }
  const wasm = tf.findBackend('wasm');
  const internals = wasm ? wasmInternalsProblem(wasm) : undefined;
  if (internals) {
    unavailableReason = internals;
    warnOnce(`native convolutions not used: ${internals}`);
    return (addon = null);
  }
  return addon;
}

/** Whether the addon is built and not switched off (cheap: loads nothing). */
export function nativeAddonBuilt(addonPath = NATIVE_ADDON): boolean {
  return process.env[NATIVE_ENV] !== '0' && fs.existsSync(addonPath);
}

/** Why the addon is not in use (for diagnostics), or undefined when it is. */
export function nativeConvUnavailableReason(): string | undefined {
  if (addon) return undefined;
  return process.env[NATIVE_ENV] === '0' ? `${NATIVE_ENV}=0` : unavailableReason ?? 'not built';
}

const internalsChecked = new WeakMap<object, string | undefined>();

/**
 * The kernels reach tfjs-backend-wasm's private `makeOutput`, `typedArrayFromHeap` and `readSync` through
 * `any`. This checks, once per backend, that they exist and that a view really is the tensor's memory;
 * returns what is wrong, or undefined.
 */
export function wasmInternalsProblem(backend: object): string | undefined {
  if (internalsChecked.has(backend)) return internalsChecked.get(backend);
  const b = backend as any;
  let problem: string | undefined;
  const missing = ['makeOutput', 'typedArrayFromHeap', 'readSync', 'disposeData']
    .filter((method) => typeof b[method] !== 'function');
  if (missing.length > 0) {
    problem = `the wasm backend lacks ${missing.join(', ')} (tfjs ${tf.version.tfjs} changed its internals)`;
  } else {
    let probe: TensorInfo | undefined;
    try {
      probe = b.makeOutput([2], 'float32') as TensorInfo;
      const view = b.typedArrayFromHeap(probe);
      if (!(view instanceof Float32Array) || view.length !== 2) {
        throw new Error('the view is not a Float32Array(2)');
      }
      view.set([1.5, -2.25]);
      const back = Array.from(b.readSync(probe.dataId) as Float32Array);
      if (back[0] !== 1.5 || back[1] !== -2.25) throw new Error('writes through the view do not reach the tensor');
    } catch (e) {
      problem = `the wasm backend's heap views are not as expected (${(e as Error).message})`;
    } finally {
      if (probe) b.disposeData(probe.dataId);
    }
  }
  internalsChecked.set(backend, problem);
  return problem;
}

type Conv4 = [number, number, number, number];

/**
 * The 17 geometry values the addon takes: n h w ci co kh kw ho wo sh sw pt pl pb pr dh dw, the padding as
 * tfjs gives it. The addon derives oneDNN's far padding, and crops the input where a strided 'valid' conv
 * leaves its last rows unread.
 */
function geometry(info: tf.backend_util.Conv2DInfo): Int32Array {
  const pad = info.padInfo;
  return Int32Array.from([
    info.batchSize, info.inHeight, info.inWidth, info.inChannels, info.outChannels, info.filterHeight,
    info.filterWidth, info.outHeight, info.outWidth, info.strideHeight, info.strideWidth, pad.top, pad.left,
    pad.bottom, pad.right, info.dilationHeight, info.dilationWidth,
  ]);
}

const multiplyAdds = (info: tf.backend_util.Conv2DInfo) => info.batchSize * info.outHeight * info.outWidth *
  info.outChannels * info.inChannels * info.filterHeight * info.filterWidth;

/** Whether some input row and column is read at all (explicit padding can push every tap into the padding). */
const readsInput = (info: tf.backend_util.Conv2DInfo) =>
  (info.outHeight - 1) * info.strideHeight + info.effectiveFilterHeight > info.padInfo.top &&
  (info.outWidth - 1) * info.strideWidth + info.effectiveFilterWidth > info.padInfo.left;

const nhwc = (attrs: any) =>
  !attrs.dataFormat || attrs.dataFormat === 'NHWC' || attrs.dataFormat === 'channelsLast';

const describeConv = (kernelName: string, info: tf.backend_util.Conv2DInfo) =>
  `${kernelName} ${info.batchSize}×${info.inHeight}×${info.inWidth}×${info.inChannels}→${info.outChannels} ` +
  `k${info.filterHeight}×${info.filterWidth} s${info.strideHeight}×${info.strideWidth}`;

/** Geometries oneDNN failed on: wasm serves them from then on without asking oneDNN again. */
const failedGeometries = new Set<string>();

/**
 * Runs `body` into a new tensor of `shape`, or returns null (wasm's kernel then runs) for a conv too small to
 * gain, on a backend whose internals are not as expected, or when oneDNN throws (with a one-line warning).
 */
function run(backend: unknown, backendName: string, kernelName: string, info: tf.backend_util.Conv2DInfo,
  shape: number[], body: (c: KernelComposer, out: TensorInfo) => void): TensorInfo | null {
  if (multiplyAdds(info) < minMacs || !readsInput(info)) return null;
  const internals = wasmInternalsProblem(backend as object);
  if (internals) {
    warnOnce(`native convolutions not used: ${internals}`);
    return null;
  }
  const key = `${kernelName} ${geometry(info).join(',')}`;
  if (failedGeometries.has(key)) return null;
  const c = new KernelComposer(backend, backendName);
  const out = c.alloc(shape);
  try {
    body(c, out);
  } catch (e) {
    c.done(out);
    c.backend.disposeData(out.dataId);
    if ((e as { code?: string }).code !== ONEDNN_ERROR_CODE) throw e;
    failedGeometries.add(key);
    warnOnce(`${describeConv(kernelName, info)} runs on wasm: ${(e as Error).message.split('\n')[0]}`);
    return null;
  }
  return c.done(out);
}

/**
 * FusedConv2D's epilogue on the convolution's NHWC output, in place: + bias[c] (any rank, C values), then max(·, 0).
 * A float32 sum of two float32 values computed in double and rounded is the float32 sum: the same as tfjs's.
 */
function addBiasRelu(out: Float32Array, bias: Float32Array | undefined, channels: number, relu: boolean): void {
  for (let i = 0; i < out.length; i += channels) {
    for (let c = 0; c < channels; c++) {
      const v = bias ? out[i + c] + bias[c] : out[i + c];
      out[i + c] = relu && v < 0 ? 0 : v;
    }
  }
}

/**
 * Conv2D, FusedConv2D (its bias and ReLU, if any, added after the convolution), Conv2DBackpropInput and
 * Conv2DBackpropFilter through the addon, each falling back to `fallback[name]` for anything it does not cover.
 */
export function nativeConvKernels(lib: NativeConv, backendName: string,
  fallback: Record<string, KernelConfig>): KernelConfig[] {
  const wrap = (kernelName: string, fn: (args: Parameters<KernelFunc>[0]) => TensorInfo | null): KernelConfig => {
    const original = fallback[kernelName];
    const kernelFunc = (args: Parameters<KernelFunc>[0]) =>
      (enabled ? fn(args) : null) ?? (original.kernelFunc(args) as TensorInfo);
    return { ...original, kernelName, backendName, kernelFunc: kernelFunc as KernelFunc };
  };
  const forward = (kernelName: string) => ({ inputs, backend, attrs }: Parameters<KernelFunc>[0]) => {
    const { x, filter, bias, preluActivationWeights } = inputs as Record<string, TensorInfo | undefined>;
    const a = attrs as any;
    const relu = a.activation === 'relu';
    if (preluActivationWeights || (a.activation && a.activation !== 'linear' && !relu) || !nhwc(a)) return null;
    const info = tf.backend_util.computeConv2DInfo(x!.shape as Conv4, filter!.shape as Conv4, a.strides,
      a.dilations, a.pad, a.dimRoundingMode);
    return run(backend, backendName, kernelName, info, info.outShape, (c, out) => {
      lib.conv2d(geometry(info), c.view(x!), c.view(filter!), c.view(out));
      if (bias || relu) addBiasRelu(c.view(out), bias && c.view(bias), info.outChannels, relu);
    });
  };
  return [
    wrap('Conv2D', forward('Conv2D')),
    wrap('FusedConv2D', forward('FusedConv2D')),
    wrap('Conv2DBackpropInput', ({ inputs, backend, attrs }) => {
      const { dy, filter } = inputs as { dy: TensorInfo; filter: TensorInfo };
      const a = attrs as any;
      if (!nhwc(a)) return null;
      const info = tf.backend_util.computeConv2DInfo(a.inputShape, filter.shape as Conv4, a.strides, 1, a.pad,
        a.dimRoundingMode);
      return run(backend, backendName, 'Conv2DBackpropInput', info, info.inShape, (c, out) =>
        lib.conv2dBackpropInput(geometry(info), c.view(dy), c.view(filter), c.view(out)));
    }),
    wrap('Conv2DBackpropFilter', ({ inputs, backend, attrs }) => {
      const { x, dy } = inputs as { x: TensorInfo; dy: TensorInfo };
      const a = attrs as any;
      if (!nhwc(a)) return null;
      const info = tf.backend_util.computeConv2DInfo(x.shape as Conv4, a.filterShape, a.strides, 1, a.pad,
        a.dimRoundingMode);
      return run(backend, backendName, 'Conv2DBackpropFilter', info, info.filterShape, (c, out) =>
        lib.conv2dBackpropFilter(geometry(info), c.view(x), c.view(dy), c.view(out)));
    }),
  ];
}
