import * as tf from '@tensorflow/tfjs';
import type { KernelConfig, KernelFunc, TensorInfo } from '@tensorflow/tfjs';
import { KernelComposer } from './compose';
import { convWithPads } from './conv-util';

/**
 * dX of an NHWC conv as one forward convolution: dy dilated by the stride (zeros between rows and
 * columns), padded by k-1-pad, convolved with the filter flipped in space and with in/out swapped.
 */
/**
 * W[a,b,ci,co] → W'[kh-1-a, kw-1-b, co, ci]. Flipping both spatial axes reverses the order of the kh·kw
 * taps, so after the channel transpose it is a block copy (the wasm Reverse kernel is ~15× slower).
 */
function flipAndSwap(c: KernelComposer, filter: TensorInfo): TensorInfo {
  const [kh, kw, ci, co] = filter.shape;
  const swapped = c.transpose(filter, [0, 1, 3, 2]);
  if (kh * kw === 1) return swapped;
  const out = c.alloc([kh, kw, co, ci]);
  const src = c.view(swapped);
  const dst = c.view(out);
  const block = ci * co;
  const taps = kh * kw;
  for (let t = 0; t < taps; t++) dst.set(src.subarray((taps - 1 - t) * block, (taps - t) * block), t * block);
  return out;
}

export function conv2DBackpropInputKernel(backendName: string): KernelConfig {
  const kernelFunc = ({ inputs, backend, attrs }: Parameters<KernelFunc>[0]): TensorInfo => {
    const { dy, filter } = inputs as { dy: TensorInfo; filter: TensorInfo };
    const { strides, pad, dataFormat, dimRoundingMode, inputShape } = attrs as any;
    if (dataFormat && dataFormat !== 'NHWC') throw new Error(`Conv2DBackpropInput: only NHWC is supported, got ${dataFormat}`);
    const info = tf.backend_util.computeConv2DInfo(
      inputShape, filter.shape as [number, number, number, number], strides, 1, pad, dimRoundingMode);
    const c = new KernelComposer(backend, backendName);
    const [N, Ho, Wo, Co] = dy.shape;
    const [, H, W] = inputShape as number[];
    const { strideHeight: sh, strideWidth: sw, filterHeight: kh, filterWidth: kw } = info;
    let d = dy;
    if (sh > 1 || sw > 1) {
      const six = c.reshape(dy, [N, Ho, 1, Wo, 1, Co]);
      const padded = c.pad(six, [[0, 0], [0, 0], [0, sh - 1], [0, 0], [0, sw - 1], [0, 0]]);
      d = c.reshape(padded, [N, Ho * sh, Wo * sw, Co]);
    }
    const f = flipAndSwap(c, filter); // [kh,kw,Co,Ci], rotated by 180°
    const top = kh - 1 - info.padInfo.top;
    const left = kw - 1 - info.padInfo.left;
    // A stride-1 valid conv with a kh filter needs H+kh-1 input rows.
    const bottom = H + kh - 1 - top - d.shape[1];
    const right = W + kw - 1 - left - d.shape[2];
    return c.done(convWithPads(c, d, f, [top, bottom], [left, right]));
  };
  return { kernelName: 'Conv2DBackpropInput', backendName, kernelFunc: kernelFunc as KernelFunc };
}
