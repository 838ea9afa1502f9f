import * as fs from 'fs';
import * as tf from '@tensorflow/tfjs';
import { afterAll, describe, expect, it } from 'vitest';
import { TFJS_NODE_BUILT } from '../test-util/backends';
import { batchNormGradConfig } from './kernels/batch-norm-grad';
import { BackendError, initBackend, nativeBindingFile, shutdownBackend } from './select';

afterAll(() => shutdownBackend());

describe('the tfjs-node backends', () => {
  // First in the file: nothing of tfjs-node is loaded yet, so a kernel registered for 'tensorflow' is its doing.
  const gpuBuilt = nativeBindingFile('tfjs-node-gpu') !== undefined;
  it.skipIf(gpuBuilt)('refuses tfjs-node-gpu without its addon before loading it', async () => {
    const kernelsBefore = tf.getKernelsForBackend('tensorflow').length;
    const error = await initBackend('tfjs-node-gpu').catch((e) => e);
    expect(error).toBeInstanceOf(BackendError);
    expect(error.message)
      .toMatch(/backend tfjs-node-gpu is unavailable: .*tfjs_binding\.node.*optional dependency/);
    expect(tf.getKernelsForBackend('tensorflow').length).toBe(kernelsBefore);
  });

  it.runIf(TFJS_NODE_BUILT)('starts tfjs-node on TensorFlow, with our closed-form BN gradient', async () => {
    expect(fs.existsSync(nativeBindingFile('tfjs-node')!)).toBe(true);
    const info = await initBackend('tfjs-node');
    expect(info).toMatchObject({ name: 'tfjs-node', tfjsBackend: 'tensorflow' });
    expect(tf.getBackend()).toBe('tensorflow');
    // [[1, 2], [3, 4]] · [[5], [6]] = [[17], [39]]
    const product = tf.matMul(tf.tensor2d([[1, 2], [3, 4]]), tf.tensor2d([[5], [6]]));
    expect(Array.from(product.dataSync())).toEqual([17, 39]);
    expect(tf.getGradient('FusedBatchNorm')).toBe(batchNormGradConfig);
  });
});
