import * as path from 'path';
import * as tf from '@tensorflow/tfjs';
import type { KernelConfig, KernelFunc, TensorInfo } from '@tensorflow/tfjs';
import { KernelComposer } from './compose';

/**
 * Optional native convolutions (oneDNN) for the wasm backend. `npm install` builds `build/onednn-conv.node`
 * where oneDNN's headers are present (scripts/build-native.js); the kernels then compute straight on the
 * wasm heap. Without it, or with RETHINK_PRUNE_NATIVE=0, the wasm kernels (XNNPACK) do the work.
 */
interface NativeConv {
  conv2d(g: Int32Array, x: Float32Array, w: Float32Array, y: Float32Array): void;
  conv2dBackpropInput(g: Int32Array, dy: Float32Array, w: Float32Array, dx: Float32Array): void;
  conv2dBackpropFilter(g: Int32Array, x: Float32Array, dy: Float32Array, dw: Float32Array): void;
  version(): string;
}

export const NATIVE_ENV = 'RETHINK_PRUNE_NATIVE';
export const NATIVE_ADDON = path.join(__dirname, '..', '..', '..', 'build', 'onednn-conv.node');

let addon: NativeConv | null | undefined;
let loadError: string | undefined;
/**
 * Convolutions below this many multiply-adds stay on wasm: there oneDNN's per-call set-up outweighs its speed
 * (a ÷4 ResNet-56 trains slower with it, a ÷4 VGG-16 twice as fast).
 */
export const NATIVE_MIN_MACS = 2 ** 25;
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

/** The addon, or null when it is not built, cannot load, or is switched off. */
export function nativeConv(threads: number): NativeConv | null {
  if (addon !== undefined) return addon;
  if (process.env[NATIVE_ENV] === '0') return (addon = null);
  // oneDNN's OpenMP reads these once, when it loads; idle workers sleep so they leave the cores to wasm.
  process.env.OMP_NUM_THREADS ??= String(threads);
  process.env.OMP_WAIT_POLICY ??= 'PASSIVE';
  try {
    addon = require(NATIVE_ADDON) as NativeConv;
  } catch (e) {
    loadError = (e as Error).message.split('\n')[0];
    addon = null;
  }
  return addon;
}

/** Why the addon is not in use (for diagnostics), or undefined when it is. */
export function nativeConvUnavailableReason(): string | undefined {
  if (addon) return undefined;
  return process.env[NATIVE_ENV] === '0' ? `${NATIVE_ENV}=0` : loadError ?? 'not built';
}

type Conv4 = [number, number, number, number];

/**
 * The 17 geometry values the addon takes: n h w ci co kh kw ho wo sh sw pt pl pb pr dh dw. oneDNN wants the
 * far padding that makes (in + pt + pb − extent)/stride + 1 = out exactly, so it is derived from the output
 * size: it is −1 where a strided 'valid' conv leaves the last row unused (tfjs says 0 there; passing that
 * makes oneDNN's kernels write out of bounds).
 */
function geometry(info: tf.backend_util.Conv2DInfo): Int32Array {
  const p = info.padInfo;
  const far = (out: number, stride: number, extent: number, size: number, near: number) => (out - 1) * stride + extent - size - near;
  return Int32Array.from([
    info.batchSize, info.inHeight, info.inWidth, info.inChannels, info.outChannels, info.filterHeight, info.filterWidth,
    info.outHeight, info.outWidth, info.strideHeight, info.strideWidth, p.top, p.left,
    far(info.outHeight, info.strideHeight, info.effectiveFilterHeight, info.inHeight, p.top),
    far(info.outWidth, info.strideWidth, info.effectiveFilterWidth, info.inWidth, p.left),
    info.dilationHeight, info.dilationWidth,
  ]);
}

const worthIt = (info: tf.backend_util.Conv2DInfo) =>
  info.batchSize * info.outHeight * info.outWidth * info.outChannels * info.inChannels * info.filterHeight * info.filterWidth >= minMacs;

const nhwc = (attrs: any) => !attrs.dataFormat || attrs.dataFormat === 'NHWC' || attrs.dataFormat === 'channelsLast';

/** Runs `body` into a new tensor of `shape`, or returns null (wasm's kernel then runs) for a conv too small to gain. */
function run(backend: unknown, backendName: string, info: tf.backend_util.Conv2DInfo, shape: number[],
  body: (c: KernelComposer, out: TensorInfo) => void): TensorInfo | null {
  if (!worthIt(info)) return null;
  const c = new KernelComposer(backend, backendName);
  const out = c.alloc(shape);
  body(c, out);
  return c.done(out);
}

/**
 * Conv2D, FusedConv2D (without bias or activation), Conv2DBackpropInput and Conv2DBackpropFilter through the
 * addon, each falling back to `fallback[name]` for anything it does not cover.
 */
export function nativeConvKernels(lib: NativeConv, backendName: string, fallback: Record<string, KernelConfig>): KernelConfig[] {
  const wrap = (kernelName: string, fn: (args: Parameters<KernelFunc>[0]) => TensorInfo | null): KernelConfig => {
    const original = fallback[kernelName];
    const kernelFunc = (args: Parameters<KernelFunc>[0]) => (enabled ? fn(args) : null) ?? (original.kernelFunc(args) as TensorInfo);
    return { ...original, kernelName, backendName, kernelFunc: kernelFunc as KernelFunc };
  };
  const forward = ({ inputs, backend, attrs }: Parameters<KernelFunc>[0]): TensorInfo | null => {
    const { x, filter, bias, preluActivationWeights } = inputs as Record<string, TensorInfo | undefined>;
    const a = attrs as any;
    if (bias || preluActivationWeights || (a.activation && a.activation !== 'linear') || !nhwc(a)) return null;
    const info = tf.backend_util.computeConv2DInfo(x!.shape as Conv4, filter!.shape as Conv4, a.strides, a.dilations,
      a.pad, a.dimRoundingMode);
    return run(backend, backendName, info, info.outShape, (c, out) =>
      lib.conv2d(geometry(info), c.view(x!), c.view(filter!), c.view(out)));
  };
  return [
    wrap('Conv2D', forward),
    wrap('FusedConv2D', forward),
    wrap('Conv2DBackpropInput', ({ inputs, backend, attrs }) => {
      const { dy, filter } = inputs as { dy: TensorInfo; filter: TensorInfo };
      const a = attrs as any;
      if (!nhwc(a)) return null;
      const info = tf.backend_util.computeConv2DInfo(a.inputShape, filter.shape as Conv4, a.strides, 1, a.pad,
        a.dimRoundingMode);
      return run(backend, backendName, info, info.inShape, (c, out) =>
        lib.conv2dBackpropInput(geometry(info), c.view(dy), c.view(filter), c.view(out)));
    }),
    wrap('Conv2DBackpropFilter', ({ inputs, backend, attrs }) => {
      const { x, dy } = inputs as { x: TensorInfo; dy: TensorInfo };
      const a = attrs as any;
      if (!nhwc(a)) return null;
      const info = tf.backend_util.computeConv2DInfo(x.shape as Conv4, a.filterShape, a.strides, 1, a.pad,
        a.dimRoundingMode);
      // oneDNN 2.6's 1×1 strided weight gradient (ResNet shortcuts) corrupts the C heap on nhwc data: not ours to run.
      if (info.filterHeight * info.filterWidth === 1 && info.strideHeight * info.strideWidth > 1) return null;
      return run(backend, backendName, info, info.filterShape, (c, out) =>
        lib.conv2dBackpropFilter(geometry(info), c.view(x), c.view(dy), c.view(out)));
    }),
  ];
}
