import * as tf from '@tensorflow/tfjs';
import type { GradConfig, Tensor } from '@tensorflow/tfjs';
import { nativeKernelActive, RELU_GRAD } from './native-training-ops';

/**
 * ReLU's gradient, dy · step(x) as tfjs-core computes it (two full passes), or one pass of RELU_GRAD where the
 * backend has it (the native addon).
 */
export const reluGradConfig: GradConfig = {
  kernelName: 'Relu',
  inputsToSave: ['x'],
  gradFunc: (dy: Tensor | Tensor[], saved: Tensor[]) => {
    const [x] = saved;
    const g = dy as Tensor;
    return {
      x: () => (nativeKernelActive(RELU_GRAD) && x.dtype === 'float32'
        ? tf.engine().runKernel(RELU_GRAD, { dy: g, x }) as Tensor
        : tf.mul(g, tf.step(tf.cast(x, 'float32')))),
    };
  },
};
