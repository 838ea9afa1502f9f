import * as tf from '@tensorflow/tfjs';
import type { GradConfig, Tensor } from '@tensorflow/tfjs';
import { nativeKernelActive, RELU_GRAD } from './native-training-ops';

/**
 * ReLU's gradient, dy · step(y) from its output y = relu(x) (y > 0 exactly where x > 0), as two full passes of
 * tfjs-core, or one of RELU_GRAD where the backend has it (the native addon). Saving the output, not the input as
 * tfjs-core does, frees the input once the forward pass has used it: the next layer keeps y anyway, so a
 * BN → ReLU pair holds two activations for the backward pass instead of three.
 */
export const reluGradConfig: GradConfig = {
  kernelName: 'Relu',
  outputsToSave: [true],
  gradFunc: (dy: Tensor | Tensor[], saved: Tensor[]) => {
    const [y] = saved;
    const g = dy as Tensor;
    return {
      x: () => (nativeKernelActive(RELU_GRAD) && y.dtype === 'float32'
        ? tf.engine().runKernel(RELU_GRAD, { dy: g, x: y }) as Tensor
        : tf.mul(g, tf.step(tf.cast(y, 'float32')))),
    };
  },
};
