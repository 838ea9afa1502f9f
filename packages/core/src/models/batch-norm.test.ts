import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { setUpTestBackends, TEST_BACKENDS, useBackend } from '../test-util/backends';
import { randomArray, relativeError, seededRandom } from '../test-util/naive-conv';
import { BatchNormalization } from './batch-norm';

beforeAll(setUpTestBackends);

const SHAPE = [4, 5, 3, 6];
const ARGS = { axis: -1, momentum: 0.9, epsilon: 1e-5 };

/** Output, gradients (x, γ, β) and moving statistics after two training calls of one BN layer. */
function run(layer: tf.layers.Layer, xv: Float32Array, dyv: Float32Array) {
  return tf.tidy(() => {
    const x = tf.tensor(xv, SHAPE);
    const dy = tf.tensor(dyv, SHAPE);
    layer.apply(tf.mul(x, 2), { training: true }); // a first batch moves the statistics
    const y = layer.apply(x, { training: true }) as tf.Tensor;
    const [gamma, beta] = layer.trainableWeights.map((w) => (w as any).val as tf.Variable);
    const f = (xx: tf.Tensor) => tf.sum(tf.mul(layer.apply(xx, { training: true }) as tf.Tensor, dy)) as tf.Scalar;
    const { grads } = tf.variableGrads(() => f(x), [gamma, beta]);
    const dx = tf.grad(f)(x);
    const weights = layer.getWeights().map((w) => w.dataSync());
    return { y: y.dataSync(), dx: dx.dataSync(), dGamma: grads[gamma.name].dataSync(), dBeta: grads[beta.name].dataSync(), weights };
  });
}

describe.each(TEST_BACKENDS)('BatchNormalization (one-node training gradient) on %s', (backend) => {
  it('matches tf.layers.batchNormalization: output, gradients, moving statistics and inference', async () => {
    await useBackend(backend);
    const rand = seededRandom(21);
    const xv = randomArray(rand, SHAPE.reduce((a, d) => a * d, 1)).map((v, i) => v * (1 + (i % 6)) + (i % 6));
    const dyv = randomArray(rand, xv.length);
    const init = { gammaInitializer: tf.initializers.constant({ value: 0.5 }), betaInitializer: tf.initializers.constant({ value: 0.1 }) };
    const ours = new BatchNormalization({ ...ARGS, ...init });
    const stock = tf.layers.batchNormalization({ ...ARGS, ...init });
    expect(ours.getClassName()).toBe('BatchNormalization');
    const a = run(ours, xv, dyv);
    const b = run(stock, xv, dyv);
    expect(relativeError(a.y, b.y)).toBeLessThan(1e-5);
    expect(relativeError(a.dx, b.dx)).toBeLessThan(1e-4);
    expect(relativeError(a.dGamma, b.dGamma)).toBeLessThan(1e-4);
    expect(relativeError(a.dBeta, b.dBeta)).toBeLessThan(1e-5);
    a.weights.forEach((w, i) => expect(relativeError(w, b.weights[i])).toBeLessThan(1e-5));
    // Inference uses the moving statistics, as the stock layer does.
    const [yi, ys] = [ours, stock].map((l) => tf.tidy(() => (l.apply(tf.tensor(xv, SHAPE)) as tf.Tensor).dataSync()));
    expect(relativeError(yi, ys)).toBeLessThan(1e-5);
    expect(relativeError(yi, a.y)).toBeGreaterThan(1e-2); // and differs from the batch-statistics output
  });
});
