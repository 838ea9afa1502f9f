import * as tf from '@tensorflow/tfjs';
import type { KernelConfig, KernelFunc, TensorInfo } from '@tensorflow/tfjs';
import { KernelComposer } from './compose';

/**
 * MaxPoolGrad (NHWC) as a channel-contiguous loop: each output's gradient goes to the first maximum of its
 * window in row-major order, as in tfjs-cpu. The wasm kernel walks one channel at a time and is ~10× slower
 * on VGG's 2×2 pools.
 */
export function maxPoolGradKernel(backendName: string): KernelConfig {
  const kernelFunc = ({ inputs, backend, attrs }: Parameters<KernelFunc>[0]): TensorInfo => {
    const { dy, input } = inputs as { dy: TensorInfo; input: TensorInfo };
    const { filterSize, strides, pad, dimRoundingMode } = attrs as any;
    const info = tf.backend_util.computePool2DInfo(input.shape as [number, number, number, number], filterSize, strides,
      1, pad, dimRoundingMode);
    const c = new KernelComposer(backend, backendName);
    const out = c.alloc(input.shape);
    const x = c.view(input);
    const g = c.view(dy);
    const dx = c.view(out);
    dx.fill(0);
    const { batchSize: N, inHeight: H, inWidth: W, inChannels: C, outHeight: Ho, outWidth: Wo } = info;
    const { filterHeight: kh, filterWidth: kw, strideHeight: sh, strideWidth: sw } = info;
    const { top, left } = info.padInfo;
    const best = new Float32Array(C);
    const where = new Int32Array(C);
    for (let n = 0; n < N; n++) {
      for (let oy = 0; oy < Ho; oy++) {
        const y0 = Math.max(oy * sh - top, 0);
        const y1 = Math.min(oy * sh - top + kh, H);
        for (let ox = 0; ox < Wo; ox++) {
          const x0 = Math.max(ox * sw - left, 0);
          const x1 = Math.min(ox * sw - left + kw, W);
          best.fill(-Infinity);
          where.fill(-1);
          for (let iy = y0; iy < y1; iy++) {
            for (let ix = x0; ix < x1; ix++) {
              const base = ((n * H + iy) * W + ix) * C;
              for (let ch = 0; ch < C; ch++) {
                const v = x[base + ch];
                if (v > best[ch]) {
                  best[ch] = v;
                  where[ch] = base + ch;
                }
              }
            }
          }
          const o = ((n * Ho + oy) * Wo + ox) * C;
          for (let ch = 0; ch < C; ch++) if (where[ch] >= 0) dx[where[ch]] += g[o + ch];
        }
      }
    }
    return c.done(out);
  };
  return { kernelName: 'MaxPoolGrad', backendName, kernelFunc: kernelFunc as KernelFunc };
}
