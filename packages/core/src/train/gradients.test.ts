import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { buildModel, namedSpec } from '../spec';
import { setUpTestBackends, TEST_BACKENDS, useBackend } from '../test-util/backends';
import { randomArray, seededRandom } from '../test-util/naive-conv';
import { narrowSpec } from '../widths';
import { trainableVariables } from './sgd';
import { variableGrads } from './gradients';

beforeAll(setUpTestBackends);

type Grads = (f: () => tf.Scalar, varList: tf.Variable[]) => { value: tf.Scalar; grads: tf.NamedTensorMap };

/** Each variable's gradient (values), the loss, the live tensors left behind, and the most bytes in distinct buffers
 * that kernels made and that were alive at once (tf.memory() counts a buffer again for each tensor sharing it). */
function gradientsOf(grads: Grads, loss: () => tf.Scalar, variables: tf.Variable[]) {
  const engine = tf.engine() as unknown as { runKernel: (...args: unknown[]) => tf.Tensor | tf.Tensor[];
    state: { tensorInfo: WeakMap<object, unknown> } };
  const live = new Map<object, number>();
  let peakBytes = 0;
  const runKernel = engine.runKernel;
  engine.runKernel = function (...args: unknown[]) {
    const out = runKernel.apply(this, args);
    for (const t of [out].flat()) live.set(t.dataId, t.size * 4);
    for (const dataId of live.keys()) if (!engine.state.tensorInfo.has(dataId)) live.delete(dataId);
    peakBytes = Math.max(peakBytes, [...live.values()].reduce((sum, bytes) => sum + bytes, 0));
    return out;
  };
  try {
    const tensorsBefore = tf.memory().numTensors;
    const { value, grads: byName } = grads(loss, variables);
    const values = variables.map((v) => Array.from(byName[v.name].dataSync()));
    const lossValue = value.dataSync()[0];
    tf.dispose([value, ...Object.values(byName)]);
    return { values, lossValue, leftBehind: tf.memory().numTensors - tensorsBefore, peakBytes };
  } finally {
    engine.runKernel = runKernel;
  }
}

describe.each(TEST_BACKENDS)('variableGrads that frees the tape as it goes, on %s', (backend) => {
  // DenseNet (concatenations, split gradients) where it takes a second: tfjs-cpu's convolutions take twenty.
  const models = backend === 'cpu' ? ['resnet20'] : ['resnet20', 'densenet40'];
  it.each(models)('gives tf.variableGrads\' gradients on a %s ÷4, holds less, leaks nothing', async (name) => {
    await useBackend(backend);
    const model = buildModel(narrowSpec(namedSpec(name), 4), 5);
    const variables = [...trainableVariables(model).values()];
    const images = tf.tensor4d(randomArray(seededRandom(3), 4 * 32 * 32 * 3), [4, 32, 32, 3]);
    const labels = tf.oneHot(tf.tensor1d([1, 7, 3, 0], 'int32'), 10);
    const loss = () => {
      const logits = model.apply(images, { training: true }) as tf.Tensor;
      return tf.losses.softmaxCrossEntropy(labels, logits) as tf.Scalar;
    };
    const stock = gradientsOf(tf.variableGrads, loss, variables);
    const freeing = gradientsOf(variableGrads, loss, variables);
    expect(freeing.lossValue).toBe(stock.lossValue);
    expect(freeing.values).toEqual(stock.values);
    expect(freeing.leftBehind).toBe(0);
    expect(stock.leftBehind).toBe(0);
    // The stock tape holds every activation's gradient and every saved tensor until backward ends.
    expect(freeing.peakBytes).toBeLessThan(0.7 * stock.peakBytes);
    tf.dispose([images, labels]);
    model.dispose();
  });

  it('keeps gradients passed through unchanged, saved tensors handed back, and inputs used twice', async () => {
    await useBackend(backend);
    const w = tf.variable(tf.tensor1d([0.5, -2, 3]));
    const v = tf.variable(tf.tensor1d([1.5, 0.25, -1]));
    // d/dx is dy itself (passed through), d/dw is the saved input: both live on as gradients.
    const passThrough = tf.customGrad((...args: Array<tf.Tensor | tf.GradSaveFunc>) => {
      const [x, wIn] = args as tf.Tensor[];
      (args[2] as tf.GradSaveFunc)([x]);
      return { value: tf.mul(x, wIn), gradFunc: (dy: tf.Tensor | tf.Tensor[], saved: tf.Tensor[]) => [dy as tf.Tensor, saved[0]] };
    }) as (x: tf.Tensor, w: tf.Tensor) => tf.Tensor;
    const loss = () => {
      const x = tf.mul(v, v); // one input twice
      return tf.sum(tf.mul(passThrough(x, w), tf.add(x, w))) as tf.Scalar;
    };
    const stock = gradientsOf(tf.variableGrads, loss, [w, v]);
    const freeing = gradientsOf(variableGrads, loss, [w, v]);
    expect(freeing.values).toEqual(stock.values);
    // By hand, with the custom gradient's rules: y = Σ p·q, p = "x·w", q = x + w, x = v².
    // ∂w = Σ(q) via p's rule (saved x, summed over elements: here elementwise, dp = q) → x·… ; checked elementwise:
    const x = [0.5, -2, 3].map((_, i) => [1.5, 0.25, -1][i] ** 2);
    const p = x.map((xi, i) => xi * [0.5, -2, 3][i]);
    const q = x.map((xi, i) => xi + [0.5, -2, 3][i]);
    // dw = dp's "w" gradient (the saved x, not scaled by dp) + dq/dw = x + p; dx = dp (= q) + p; dv = 2v·dx.
    const dw = x.map((xi, i) => xi + p[i]);
    const dv = [1.5, 0.25, -1].map((vi, i) => 2 * vi * (q[i] + p[i]));
    freeing.values[0].forEach((g, i) => expect(g).toBeCloseTo(dw[i], 5));
    freeing.values[1].forEach((g, i) => expect(g).toBeCloseTo(dv[i], 5));
    expect(freeing.leftBehind).toBe(0);
    tf.dispose([w, v]);
  });
});
