import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { setUpTestBackends, TEST_BACKENDS, useBackend } from '../test-util/backends';
import { randomArray, relativeError, seededRandom } from '../test-util/naive-conv';
import { BatchNormalization } from './batch-norm';
import { ReLU } from './fused-relu';
import { withKernelLog } from '../test-util/kernel-log';

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

/**
 * conv → BN → ReLU → (+ BN's output again where `twoConsumers`) → dense, with our ReLU or tf.layers' own; the
 * training-mode loss and gradients, moving statistics after the step, inference output, and which kernels ran.
 */
function convBnRelu(stockRelu: boolean, twoConsumers: boolean) {
  const input = tf.input({ shape: [6, 6, 3] });
  const conv = tf.layers.conv2d({ filters: 5, kernelSize: 3, padding: 'same', useBias: false,
    kernelInitializer: tf.initializers.randomNormal({ stddev: 0.5, seed: 3 }) }).apply(input) as tf.SymbolicTensor;
  const init = { ...ARGS, gammaInitializer: tf.initializers.constant({ value: 0.8 }), betaInitializer: tf.initializers.constant({ value: 0.05 }) };
  const bn = new BatchNormalization(init).apply(conv) as tf.SymbolicTensor;
  let out = (stockRelu ? tf.layers.reLU({}) : new ReLU({})).apply(bn) as tf.SymbolicTensor;
  if (twoConsumers) out = tf.layers.add({}).apply([out, bn]) as tf.SymbolicTensor;
  const logits = tf.layers.dense({ units: 4, kernelInitializer: tf.initializers.randomNormal({ stddev: 0.3, seed: 4 }) })
    .apply(tf.layers.flatten().apply(out)) as tf.SymbolicTensor;
  const model = tf.model({ inputs: input, outputs: logits });
  const x = tf.tensor4d(randomArray(seededRandom(8), 2 * 6 * 6 * 3), [2, 6, 6, 3]);
  const { result, kernels } = withKernelLog(() => {
    const variables = model.trainableWeights.map((w) => (w as any).val as tf.Variable);
    const { value, grads } = tf.variableGrads(() => tf.sum(tf.square(model.apply(x, { training: true }) as tf.Tensor)) as tf.Scalar, variables);
    const step = {
      loss: value.dataSync()[0], grads: variables.map((v) => Array.from(grads[v.name].dataSync())),
      statistics: model.layers[2].getWeights().slice(2).map((w) => Array.from(w.dataSync())),
      inference: Array.from((model.predict(x) as tf.Tensor).dataSync()),
    };
    tf.dispose([value, ...Object.values(grads), x]);
    return step;
  });
  model.dispose();
  return { ...result, kernels };
}

describe.each(TEST_BACKENDS)('BatchNormalization with the ReLU after it fused in, on %s', (backend) => {
  it('trains and infers exactly as with tf.layers\' ReLU after it, and runs no ReLU kernel of its own', async () => {
    await useBackend(backend);
    const fused = convBnRelu(false, false);
    const stock = convBnRelu(true, false);
    expect(fused.loss).toBe(stock.loss);
    expect(fused.grads).toEqual(stock.grads);
    expect(fused.statistics).toEqual(stock.statistics);
    expect(fused.inference).toEqual(stock.inference);
    if (backend === 'wasm+native') {
      // The ReLU went into the BN kernels: none in training, one at inference (stock: one each, and its gradient).
      expect(fused.kernels.filter((k) => k === 'Relu')).toHaveLength(1);
      expect(stock.kernels.filter((k) => k === 'Relu')).toHaveLength(2);
    }
  });

  it('does not fuse where the BN output has another consumer (the ReLU would change what that one sees)', async () => {
    await useBackend(backend);
    const ours = convBnRelu(false, true);
    const stock = convBnRelu(true, true);
    expect(ours.loss).toBe(stock.loss);
    expect(ours.grads).toEqual(stock.grads);
    expect(ours.kernels.filter((k) => k === 'Relu')).toHaveLength(stock.kernels.filter((k) => k === 'Relu').length);
  });
});
