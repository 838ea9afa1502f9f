import * as tf from '@tensorflow/tfjs';
import type { KernelConfig, KernelFunc, TensorInfo } from '@tensorflow/tfjs';
import { KernelComposer } from './compose';
import { convWithPads } from './conv-util';

/**
 * dW of an NHWC conv as one forward convolution with batch and channels swapped:
 * dW[a,b,ci,co] = Σ_{n,i,j} x[n, i·s+a-pt, j·s+b-pl, ci] · dy[n,i,j,co]
 * is a conv of x as [Ci,H,W,N] with dy as a [Ho,Wo,N,Co] filter dilated by the stride.
 */
export function conv2DBackpropFilterKernel(backendName: string): KernelConfig {
  const kernelFunc = ({ inputs, backend, attrs }: Parameters<KernelFunc>[0]): TensorInfo => {
    const { x, dy } = inputs as { x: TensorInfo; dy: TensorInfo };
    const { strides, pad, dataFormat, dimRoundingMode, filterShape } = attrs as any;
    if (dataFormat && dataFormat !== 'NHWC') throw new Error(`Conv2DBackpropFilter: only NHWC is supported, got ${dataFormat}`);
    const info = tf.backend_util.computeConv2DInfo(
      x.shape as [number, number, number, number], filterShape, strides, 1, pad, dimRoundingMode);
    const c = new KernelComposer(backend, backendName);
    const [, H, W] = x.shape;
    const { strideHeight: sh, strideWidth: sw, filterHeight: kh, filterWidth: kw, outHeight: Ho, outWidth: Wo } = info;
    const xT = c.transpose(x, [3, 1, 2, 0]); // [Ci,H,W,N]
    const dyT = c.transpose(dy, [1, 2, 0, 3]); // [Ho,Wo,N,Co]
    // Input length that a (Ho-1)·s+1 tall dilated filter needs to give kh outputs.
    const needH = kh + (Ho - 1) * sh;
    const needW = kw + (Wo - 1) * sw;
    const top = info.padInfo.top;
    const left = info.padInfo.left;
    const out = convWithPads(c, xT, dyT, [top, needH - top - H], [left, needW - left - W], [sh, sw]);
    return c.done(c.transpose(out, [1, 2, 0, 3])); // [kh,kw,Ci,Co]
  };
  return { kernelName: 'Conv2DBackpropFilter', backendName, kernelFunc: kernelFunc as KernelFunc };
}
