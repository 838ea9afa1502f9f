import * as tf from '@tensorflow/tfjs';
import { afterAll, describe, expect, it } from 'vitest';
import { batchNormGradConfig } from './kernels/batch-norm-grad';
import { BackendError, initBackend, nativeBindingFile, shutdownBackend } from './select';

afterAll(() => shutdownBackend());

/** `1`: tfjs-node-gpu must be tested (CI sets it once built from the wheel), `0`: leave it out; unset: where built. */
const GPU_TEST_ENV = 'RETHINK_PRUNE_TEST_TFJS_NODE_GPU';
const built = nativeBindingFile('tfjs-node-gpu') !== undefined;
if (process.env[GPU_TEST_ENV] === '1' && !built) {
  throw new Error(`${GPU_TEST_ENV}=1 but @tensorflow/tfjs-node-gpu has no built binding (node tools/tfjs-node-from-wheel.js ` +
    '--package tfjs-node-gpu)');
}

/** Conv2d, its gradients by input and filter, and a sum: the same numbers on `backend` as tfjs's own cpu gives. */
async function convOn(backend: string): Promise<number[][]> {
  await tf.setBackend(backend);
  return tf.tidy(() => {
    const x = tf.tensor4d(Array.from({ length: 2 * 5 * 5 * 3 }, (_, i) => Math.sin(i)), [2, 5, 5, 3]);
    const w = tf.tensor4d(Array.from({ length: 3 * 3 * 3 * 4 }, (_, i) => Math.cos(i)), [3, 3, 3, 4]);
    const f = (a: tf.Tensor, b: tf.Tensor) => tf.sum(tf.square(tf.conv2d(a as tf.Tensor4D, b as tf.Tensor4D, 1, 'same')));
    const [dx, dw] = tf.grads(f)([x, w]);
    return [Array.from(tf.conv2d(x, w, 1, 'same').dataSync()), Array.from(dx.dataSync()), Array.from(dw.dataSync())];
  });
}

// Its own test file: tfjs-node and tfjs-node-gpu both register 'tensorflow', so one process loads one of them.
describe.runIf(built && process.env[GPU_TEST_ENV] !== '0')('tfjs-node-gpu (here: built on the CPU library)', () => {
  it('starts, says where its kernels run, and keeps tfjs-node out of the process', async () => {
    const info = await initBackend('tfjs-node-gpu');
    expect(info).toMatchObject({ name: 'tfjs-node-gpu', tfjsBackend: 'tensorflow' });
    // A machine with a CUDA device says GPU; this test's machines have none, and the wheel's library is CPU-only.
    expect(info.device).toBe((tf.backend() as unknown as { isUsingGpuDevice: boolean }).isUsingGpuDevice
      ? 'GPU' : 'no GPU visible: CPU kernels');
    expect(tf.getGradient('FusedBatchNorm')).toBe(batchNormGradConfig);
    await expect(initBackend('tfjs-node')).rejects.toThrow(BackendError);
    await expect(initBackend('tfjs-node')).rejects.toThrow(/tfjs-node-gpu is already loaded/);
  });

  it('computes conv2d and its gradients as tfjs\'s cpu backend does', async () => {
    await initBackend('tfjs-node-gpu');
    const ours = await convOn('tensorflow');
    const reference = await convOn('cpu');
    ours.forEach((values, k) => values.forEach((v, i) => expect(v).toBeCloseTo(reference[k][i], 3)));
  });
});
