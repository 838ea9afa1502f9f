import * as tf from '@tensorflow/tfjs';
import type { KernelConfig } from '@tensorflow/tfjs';
import { batchNormGradConfig } from './batch-norm-grad';
import { conv2DBackpropFilterKernel } from './conv2d-backprop-filter';
import { conv2DBackpropInputKernel } from './conv2d-backprop-input';
import { rank1BiasKernel } from './rank1-bias';
import { matMulTransposedKernel, requireKernel } from './matmul-transposed';
import { reduceLeadingAxesKernel } from './reduce-leading-axes';

/** The training kernels each backend gets from us; everything else is the backend's own. */
const TRAINING_KERNELS: Record<string, Array<(backend: string) => KernelConfig>> = {
  wasm: [
    conv2DBackpropFilterKernel,
    conv2DBackpropInputKernel,
    (b) => matMulTransposedKernel('BatchMatMul', b, requireKernel('BatchMatMul', b)),
    (b) => matMulTransposedKernel('_FusedMatMul', b, requireKernel('_FusedMatMul', b)),
    (b) => reduceLeadingAxesKernel('Sum', b, requireKernel('Sum', b)),
    (b) => reduceLeadingAxesKernel('Mean', b, requireKernel('Mean', b)),
    (b) => rank1BiasKernel('FusedConv2D', b, requireKernel('FusedConv2D', b)),
    (b) => rank1BiasKernel('_FusedMatMul', b, requireKernel('_FusedMatMul', b)),
  ],
  // tfjs-cpu's own Conv2DBackpropFilter runs at ~0.03 GFLOP/s; the composed one reuses its Conv2D.
  cpu: [conv2DBackpropFilterKernel],
};

const registered = new Set<string>();
let gradRegistered = false;

/** Registers our training kernels for `backendName` (idempotent) and the closed-form BN gradient. */
export function registerTrainingKernels(backendName: string): void {
  if (!gradRegistered) {
    tf.registerGradient(batchNormGradConfig); // replaces tfjs-core's, for every backend
    gradRegistered = true;
  }
  if (registered.has(backendName)) return;
  for (const make of TRAINING_KERNELS[backendName] ?? []) {
    const config = make(backendName);
    if (tf.getKernel(config.kernelName, backendName)) tf.unregisterKernel(config.kernelName, backendName);
    tf.registerKernel(config);
  }
  registered.add(backendName);
}
