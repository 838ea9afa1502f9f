import * as tf from '@tensorflow/tfjs';
import type { KernelConfig } from '@tensorflow/tfjs';
import { batchNormGradConfig } from './batch-norm-grad';
import { conv2DBackpropFilterKernel } from './conv2d-backprop-filter';
import { conv2DBackpropInputKernel } from './conv2d-backprop-input';
import { rank1BiasKernel } from './rank1-bias';
import { matMulTransposedKernel, requireKernel } from './matmul-transposed';
import { reduceLeadingAxesKernel } from './reduce-leading-axes';
import { maxPoolGradKernel } from './max-pool-grad';
import { batchNormAffineKernel, sharedDataKernel } from './elementwise';
import { gatherLastAxisKernel } from './gather-last-axis';
import { nativeConv, nativeConvKernels, nativeKernelsEnabled } from './native-conv';
import { nativeTrainingKernels, type ReplacedKernels } from './native-training-ops';
import { reluGradConfig } from './relu-grad';

/** The training kernels each backend gets from us; everything else is the backend's own. */
const TRAINING_KERNELS: Record<string, Array<(backend: string) => KernelConfig>> = {
  wasm: [
    conv2DBackpropFilterKernel,
    conv2DBackpropInputKernel,
    maxPoolGradKernel,
    (b) => matMulTransposedKernel('BatchMatMul', b, requireKernel('BatchMatMul', b)),
    (b) => matMulTransposedKernel('_FusedMatMul', b, requireKernel('_FusedMatMul', b)),
    (b) => reduceLeadingAxesKernel('Sum', b, requireKernel('Sum', b)),
    (b) => reduceLeadingAxesKernel('Mean', b, requireKernel('Mean', b)),
    (b) => rank1BiasKernel('FusedConv2D', b, requireKernel('FusedConv2D', b)),
    (b) => rank1BiasKernel('_FusedMatMul', b, requireKernel('_FusedMatMul', b)),
    (b) => sharedDataKernel('Identity', b, requireKernel('Identity', b)),
    (b) => sharedDataKernel('Cast', b, requireKernel('Cast', b)),
    (b) => batchNormAffineKernel(b, requireKernel('FusedBatchNorm', b)),
    (b) => gatherLastAxisKernel(b, requireKernel('GatherV2', b)),
  ],
  // tfjs-cpu's own Conv2DBackpropFilter runs at ~0.03 GFLOP/s; the composed one reuses its Conv2D.
  cpu: [conv2DBackpropFilterKernel],
};

const registered = new Map<string, string | undefined>();
let gradRegistered = false;

/**
 * Registers our training kernels for `backendName` (idempotent) and the closed-form BN gradient. On wasm the
 * convolutions go to the native oneDNN addon where it is built (`useNative`, with `threads` OpenMP threads).
 * Returns the addon's oneDNN version when it is in use.
 */
export function registerTrainingKernels(backendName: string, opts: { useNative?: boolean; threads?: number } = {}): string | undefined {
  if (!gradRegistered) {
    tf.registerGradient(batchNormGradConfig); // replaces tfjs-core's, for every backend
    tf.registerGradient(reluGradConfig); // tfjs-core's, or the native kernel where registered
    gradRegistered = true;
  }
  if (registered.has(backendName)) return registered.get(backendName);
  for (const make of TRAINING_KERNELS[backendName] ?? []) replaceKernel(make(backendName));
  const lib = backendName === 'wasm' && opts.useNative ? nativeConv(opts.threads ?? 1) : null;
  if (lib) {
    const current = Object.fromEntries(['Conv2D', 'FusedConv2D', 'Conv2DBackpropInput', 'Conv2DBackpropFilter']
      .map((name) => [name, requireKernel(name, backendName)]));
    for (const config of nativeConvKernels(lib, backendName, current)) replaceKernel(config);
    const own = Object.fromEntries(['Add', 'Relu', 'MaxPoolGrad', 'AvgPoolGrad', 'Concat', 'SplitV']
      .map((name) => [name, requireKernel(name, backendName)])) as unknown as ReplacedKernels;
    for (const config of nativeTrainingKernels(lib, backendName, own)) {
      replaceKernel(config);
    }
    // Inference BN in the addon; the JS affine kernel registered above is the fallback it wraps.
    replaceKernel(batchNormAffineKernel(backendName, requireKernel('FusedBatchNorm', backendName),
      (x, a, b, y) => nativeKernelsEnabled() && (lib.channelAffine(x, a, b, y), true)));
    replaceKernel(gatherLastAxisKernel(backendName, requireKernel('GatherV2', backendName),
      (x, picks, y, rows) => nativeKernelsEnabled() && (lib.gatherChannels(x, picks, y, rows), true)));
  }
  const native = lib ? `oneDNN ${lib.version()}` : undefined;
  registered.set(backendName, native);
  return native;
}

function replaceKernel(config: KernelConfig): void {
  if (tf.getKernel(config.kernelName, config.backendName)) tf.unregisterKernel(config.kernelName, config.backendName);
  tf.registerKernel(config);
}
