import * as tf from '@tensorflow/tfjs';
import { beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { UnknownWeightError } from '../errors';
import { setUpTestBackends, TEST_BACKENDS, useBackend } from '../test-util/backends';
import { withKernelLog } from '../test-util/kernel-log';
import { Sgd } from './sgd';

beforeAll(setUpTestBackends);

// On wasm+native the update is one native kernel (training-ops.cc); elsewhere tf ops.
describe.each(TEST_BACKENDS)('Sgd on %s', (backend) => {
  beforeEach(() => useBackend(backend));

  it('follows PyTorch: g ← g + wd·w; v ← μ·v + g; w ← w − lr·v (two steps, computed by hand)', () => {
    // w = 1, constant gradient 0.5, μ = 0.9, wd = 0.1, lr = 0.1.
    // Step 1: d = 0.5 + 0.1·1 = 0.6; v = 0.6; w = 1 − 0.06 = 0.94.
    // Step 2: d = 0.5 + 0.1·0.94 = 0.594; v = 0.9·0.6 + 0.594 = 1.134; w = 0.94 − 0.1134 = 0.8266.
    const weight = tf.variable(tf.tensor1d([1, -2]));
    const sgd = new Sgd(0.9, 0.1);
    const variables = new Map([['layer/kernel', weight]]);
    for (let step = 0; step < 2; step++) sgd.step(variables, { 'layer/kernel': tf.tensor1d([0.5, 0.5]) }, 0.1);
    // Second entry, w = −2: d = 0.3; v = 0.3; w = −2.03. Then d = 0.5 − 0.203 = 0.297; v = 0.567; w = −2.0867.
    const [first, second] = Array.from(weight.dataSync());
    expect(first).toBeCloseTo(0.8266, 6);
    expect(second).toBeCloseTo(-2.0867, 6);
    const buffers = sgd.getState()['layer/kernel'].values;
    expect(buffers[0]).toBeCloseTo(1.134, 6);
    expect(buffers[1]).toBeCloseTo(0.567, 6);
    sgd.dispose();
  });

  it('Nesterov as PyTorch (SFP\'s scripts): w ← w − lr·(g + μ·v), by hand over two steps', () => {
    // w = 1, g = 0.5, μ = 0.9, wd = 0.1, lr = 0.1.
    // Step 1: d = 0.6; v = 0.6; w = 1 − 0.1·(0.6 + 0.54) = 0.886.
    // Step 2: d = 0.5 + 0.0886 = 0.5886; v = 0.54 + 0.5886 = 1.1286; w = 0.886 − 0.1·(0.5886 + 1.01574) = 0.725566.
    const weight = tf.variable(tf.tensor1d([1]));
    const sgd = new Sgd(0.9, 0.1, true);
    const variables = new Map([['layer/kernel', weight]]);
    for (let step = 0; step < 2; step++) sgd.step(variables, { 'layer/kernel': tf.tensor1d([0.5]) }, 0.1);
    expect(weight.dataSync()[0]).toBeCloseTo(0.725566, 6);
    expect(sgd.getState()['layer/kernel'].values[0]).toBeCloseTo(1.1286, 6);
    sgd.dispose();
  });

  it('updates several weights (one larger than a native slice) as the formula in float32 does, in one kernel call', () => {
    const f = Math.fround;
    const sizes = [3, 20_000, 1];
    const start = sizes.map((n, k) => Float32Array.from({ length: n }, (_, i) => f(Math.sin(i + k) * 2)));
    const grad = sizes.map((n, k) => Float32Array.from({ length: n }, (_, i) => f(Math.cos(3 * i + k))));
    const names = sizes.map((_, k) => `layer${k}/kernel`);
    const variables = new Map(names.map((name, k) => [name, tf.variable(tf.tensor1d(start[k]))]));
    const sgd = new Sgd(0.9, 1e-4);
    const { kernels } = withKernelLog(() => {
      for (let step = 0; step < 2; step++) {
        sgd.step(variables, Object.fromEntries(names.map((name, k) => [name, tf.tensor1d(grad[k])])), 0.05);
      }
    });
    const calls = kernels.filter((name) => name === 'RethinkPruneSgdStep').length;
    if (backend === 'wasm+native') expect(calls).toBe(2);
    sizes.forEach((n, k) => {
      const w = Array.from(start[k]), v = new Array(n).fill(0);
      for (let step = 0; step < 2; step++) {
        for (let i = 0; i < n; i++) {
          const decayed = f(grad[k][i] + f(w[i] * f(1e-4)));
          v[i] = f(f(v[i] * f(0.9)) + decayed);
          w[i] = f(w[i] - f(v[i] * f(0.05)));
        }
      }
      expect(Array.from(variables.get(names[k])!.dataSync())).toEqual(w);
      expect(Array.from(sgd.getState()[names[k]].values)).toEqual(v);
    });
    sgd.dispose();
  });

  it('a gradient for a variable it was not given is a named error listing the known names', () => {
    const sgd = new Sgd(0.9, 0);
    const variables = new Map([['layer/kernel', tf.variable(tf.zeros([2]))]]);
    const step = () => sgd.step(variables, { 'layer/bias': tf.zeros([2]) }, 0.1);
    expect(step).toThrow(UnknownWeightError);
    expect(step).toThrow(/'layer\/bias'.*'layer\/kernel'/);
  });
});
