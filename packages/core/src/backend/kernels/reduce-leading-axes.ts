import * as tf from '@tensorflow/tfjs';
import type { KernelConfig, KernelFunc, TensorInfo } from '@tensorflow/tfjs';
import { KernelComposer } from './compose';

/**
 * Sum / Mean over the leading axes of a tensor (batch-norm moments and channel sums of an NHWC
 * activation). The wasm reductions first transpose the reduced axes to the end: ~25 ms for a
 * 64×32×32×64 activation. Here an NHWC tensor is averaged over H×W by the pooling kernel (~2 ms, all
 * threads) and the small [N,C] rest is summed in float64; other ranks sum in one pass in JS.
 * Reductions over other axes go to the original kernel.
 */
export function reduceLeadingAxesKernel(kernelName: 'Sum' | 'Mean', backendName: string,
  original: KernelConfig): KernelConfig {
  const kernelFunc = (args: Parameters<KernelFunc>[0]): TensorInfo => {
    const { x } = args.inputs as { x: TensorInfo };
    const { axis, keepDims } = args.attrs as { axis: number | number[]; keepDims: boolean };
    const axes = tf.util.parseAxisParam(axis, x.shape).sort((a, b) => a - b);
    const leading = axes.length > 0 && axes.length < x.shape.length && axes.every((a, i) => a === i);
    if (x.dtype !== 'float32' || !leading) return original.kernelFunc(args) as TensorInfo;
    const c = new KernelComposer(args.backend, backendName);
    const totalRows = x.shape.slice(0, axes.length).reduce((a, d) => a * d, 1);
    const rest = x.shape.slice(axes.length);
    const cols = rest.reduce((a, d) => a * d, 1);
    let src: Float32Array;
    let rows: number;
    let scaleBack = 1;
    if (x.shape.length === 4 && axes.length === 3) {
      const [n, h, w] = x.shape;
      const pooled = c.run('AvgPool', { x }, { filterSize: [h, w], strides: [1, 1], pad: 'valid' });
      src = c.view(pooled);
      rows = n;
      scaleBack = h * w;
    } else {
      src = c.view(x);
      rows = totalRows;
    }
    const acc = new Float64Array(cols);
    for (let r = 0, o = 0; r < rows; r++, o += cols) for (let j = 0; j < cols; j++) acc[j] += src[o + j];
    const out = c.alloc(keepDims ? [...axes.map(() => 1), ...rest] : rest);
    const dst = c.view(out);
    const scale = (kernelName === 'Mean' ? 1 / totalRows : 1) * scaleBack;
    for (let j = 0; j < cols; j++) dst[j] = acc[j] * scale;
    return c.done(out);
  };
  return { kernelName, backendName, setupFunc: original.setupFunc, disposeFunc: original.disposeFunc,
    kernelFunc: kernelFunc as KernelFunc };
}
