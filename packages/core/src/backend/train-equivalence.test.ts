import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { buildVgg, type VggSpec } from '../models/vgg';
import { setUpTestBackends, TEST_BACKENDS, useBackend } from '../test-util/backends';
import { randomArray, seededRandom } from '../test-util/naive-conv';

beforeAll(setUpTestBackends);

/** A small conv–BN–ReLU–pool network, the shape of the paper's CIFAR VGGs. */
const SPEC: VggSpec = { arch: 'vgg', dataset: 'cifar10', cfg: [8, 'M', 16, 'M', 16, 'M', 16], classifier: 'bn-mlp' };

async function lossCurve(backend: string, init: Float32Array[], steps: number): Promise<number[]> {
  await useBackend(backend);
  const model = buildVgg(SPEC, 3);
  model.setWeights(init.map((v, i) => tf.tensor(v, model.getWeights()[i].shape)));
  const rand = seededRandom(5);
  const x = tf.tensor4d(randomArray(rand, 16 * 32 * 32 * 3), [16, 32, 32, 3]);
  const y = tf.oneHot(tf.tensor1d(Array.from({ length: 16 }, (_, i) => i % 10), 'int32'), 10);
  const optimizer = tf.train.momentum(0.05, 0.9);
  const losses: number[] = [];
  for (let s = 0; s < steps; s++) {
    const loss = optimizer.minimize(
      () => tf.losses.softmaxCrossEntropy(y, model.apply(x, { training: true }) as tf.Tensor) as tf.Scalar, true);
    losses.push(loss!.dataSync()[0]);
    loss!.dispose();
  }
  tf.dispose([x, y]);
  model.dispose();
  optimizer.dispose();
  return losses;
}

describe('seeded SGD on a conv–BN network', () => {
  it('gives the same loss curve on every backend to 4 decimals, and the loss falls', async () => {
    await useBackend('cpu');
    const reference = buildVgg(SPEC, 3);
    const init = reference.getWeights().map((w) => w.dataSync() as Float32Array);
    reference.dispose();
    const curves = new Map<string, number[]>();
    for (const b of TEST_BACKENDS) curves.set(b, await lossCurve(b, init, 8));
    const [first, ...others] = [...curves.values()];
    for (const curve of others) curve.forEach((l, i) => expect(l).toBeCloseTo(first[i], 4));
    expect(first[7]).toBeLessThan(first[0] * 0.5);
  });
});
