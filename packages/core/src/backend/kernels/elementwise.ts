import type { KernelConfig, KernelFunc, TensorInfo } from '@tensorflow/tfjs';
import { KernelComposer } from './compose';

/**
 * Identity, and Cast between equal dtypes, without a copy: the output shares the input's data, as tfjs-cpu
 * and wasm's own Reshape do. tfjs clones every tensor it saves for the backward pass, and the wasm Identity
 * copies each full activation.
 */
export function sharedDataKernel(kernelName: 'Identity' | 'Cast', backendName: string, original: KernelConfig): KernelConfig {
  const kernelFunc = (args: Parameters<KernelFunc>[0]): TensorInfo => {
    const x = (args.inputs as { x: TensorInfo }).x;
    const dtype = (args.attrs as { dtype?: string } | undefined)?.dtype ?? x.dtype;
    if (x.dtype === 'string' || dtype !== x.dtype) return original.kernelFunc(args) as TensorInfo;
    (args.backend as { incRef(dataId: unknown): void }).incRef(x.dataId);
    return { dataId: x.dataId, shape: x.shape, dtype: x.dtype };
  };
  return { kernelName, backendName, kernelFunc: kernelFunc as KernelFunc };
}

/**
 * FusedBatchNorm with per-channel (last axis) statistics as one multiply-add per element, y = x·a + b with
 * a = γ/√(v+ε), b = β − m·a. The wasm kernel recomputes the broadcast index and the square root per element.
 */
export function batchNormAffineKernel(backendName: string, original: KernelConfig,
  native?: (x: Float32Array, a: Float32Array, b: Float32Array, y: Float32Array) => boolean): KernelConfig {
  const kernelFunc = (args: Parameters<KernelFunc>[0]): TensorInfo => {
    const { x, mean, variance, offset, scale } = args.inputs as Record<string, TensorInfo | undefined>;
    const eps = (args.attrs as { varianceEpsilon: number }).varianceEpsilon;
    const C = x!.shape[x!.shape.length - 1] ?? 1;
    const size = (t: TensorInfo) => t.shape.reduce((p, d) => p * d, 1);
    const perChannel = [mean, variance, offset, scale].every((t) => t === undefined || (t.dtype === 'float32' && size(t) === C));
    if (x!.dtype !== 'float32' || !perChannel || size(x!) === 0) return original.kernelFunc(args) as TensorInfo;
    const c = new KernelComposer(args.backend, backendName);
    const out = c.alloc(x!.shape);
    const m = c.view(mean!), v = c.view(variance!);
    const g = scale ? c.view(scale) : undefined, o = offset ? c.view(offset) : undefined;
    const a = new Float32Array(C);
    const b = new Float32Array(C);
    for (let ch = 0; ch < C; ch++) {
      a[ch] = (g ? g[ch] : 1) / Math.sqrt(v[ch] + eps);
      b[ch] = (o ? o[ch] : 0) - m[ch] * a[ch];
    }
    const xs = c.view(x!), ys = c.view(out);
    // The native addon's loop (OpenMP threads) where it is loaded: JS's inner loop over a few channels is slow.
    if (native?.(xs, a, b, ys)) return c.done(out);
    for (let i = 0; i < xs.length; i += C) {
      for (let ch = 0; ch < C; ch++) ys[i + ch] = xs[i + ch] * a[ch] + b[ch];
    }
    return c.done(out);
  };
  return { kernelName: 'FusedBatchNorm', backendName, kernelFunc: kernelFunc as KernelFunc };
}
