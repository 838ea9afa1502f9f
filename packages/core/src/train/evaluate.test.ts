import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import type { Batch } from '../data/loader';
import { BatchNormalization } from '../models/batch-norm';
import { setUpTestBackends, TEST_BACKENDS, useBackend } from '../test-util/backends';
import { randomArray, seededRandom } from '../test-util/naive-conv';
import { forwardInTraining } from './evaluate';

beforeAll(setUpTestBackends);

const [N, H, W, CI, CO] = [5, 3, 4, 2, 3];
const KERNEL = [0.5, -1, 2, 0.25, 1.5, -0.75]; // [ci][co] of a 1×1 conv

/** 1×1 conv (KERNEL, no bias) → BN whose moving statistics start far off (mean 100, variance 1). */
function staleBnModel(): tf.LayersModel {
  const input = tf.input({ shape: [H, W, CI] });
  const conv = tf.layers.conv2d({ filters: CO, kernelSize: 1, useBias: false,
    kernelInitializer: tf.initializers.zeros() }).apply(input) as tf.SymbolicTensor;
  const bn = new BatchNormalization({ axis: -1, momentum: 0.9, epsilon: 1e-3,
    movingMeanInitializer: tf.initializers.constant({ value: 100 }) }).apply(conv) as tf.SymbolicTensor;
  const model = tf.model({ inputs: input, outputs: bn });
  model.layers[1].setWeights([tf.tensor4d(KERNEL, [1, 1, CI, CO])]);
  return model;
}

describe.each(TEST_BACKENDS)('forwardInTraining on %s', (backend) => {
  it('moves BN\'s moving statistics by the momentum rule for the first k batches only, and changes no weight', async () => {
    await useBackend(backend);
    const model = staleBnModel();
    const x = Float32Array.from(randomArray(seededRandom(5), N * H * W * CI));
    const batches: Batch[] = Array.from({ length: 6 }, (_, index) => ({ x, y: new Int32Array(N), size: N, index }));
    const read = () => model.getWeights().map((w) => Array.from(w.dataSync()));
    const [kernel, gamma, beta] = read();

    await forwardInTraining(model, { batchesPerEpoch: 6, epoch: () => batches }, 0, 4, [H, W, CI]);

    // The conv's output per channel, by hand: its batch mean and biased variance over N·H·W positions.
    const positions = N * H * W;
    const out = Array.from({ length: CO }, (_, o) => Array.from({ length: positions },
      (_, p) => x[p * CI] * KERNEL[o] + x[p * CI + 1] * KERNEL[CO + o]));
    const mean = out.map((v) => v.reduce((a, b) => a + b, 0) / positions);
    const variance = out.map((v, o) => v.reduce((a, b) => a + (b - mean[o]) ** 2, 0) / positions);
    // Four identical batches: m ← m − (m − batch)·0.1, four times: 0.9⁴·start + (1 − 0.9⁴)·batch.
    const kept = 0.9 ** 4;
    const after = read();
    after[3].forEach((m, o) => expect(m).toBeCloseTo(kept * 100 + (1 - kept) * mean[o], 3));
    after[4].forEach((v, o) => expect(v).toBeCloseTo(kept * 1 + (1 - kept) * variance[o], 4));
    expect([after[0], after[1], after[2]]).toEqual([kernel, gamma, beta]);
    model.dispose();
  });
});
