import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import {
  buildModel, initBackend, namedWeights, shutdownBackend, train, type ArchSpec,
} from '@rethink-prune/core';
import { DATASETS } from '@rethink-prune/datasets';
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { apgHook, ApgStateError, apgStep, softThreshold, type ApgState } from './apg';

beforeAll(async () => { await initBackend('cpu'); });
afterAll(() => shutdownBackend());

/** The float32 nearest to each value, as a Float32Array stores it. */
const float32 = (values: number[]) => Array.from(Float32Array.from(values));

describe('softThreshold', () => {
  it('shrinks by a towards 0 and sets |x| ≤ a to exactly +0 (numbers and Float32Array)', () => {
    // S_0.1(0.35) = 0.25; S_0.1(−0.35) = −0.25; |0.05|, |−0.05| and |0.1| are ≤ 0.1 → 0.
    expect(softThreshold(0.35, 0.1)).toBeCloseTo(0.25, 12);
    expect(softThreshold(-0.35, 0.1)).toBeCloseTo(-0.25, 12);
    // toBe tells −0 from +0: the zeros are +0.
    expect(softThreshold(0.05, 0.1)).toBe(0);
    expect(softThreshold(-0.05, 0.1)).toBe(0);
    expect(softThreshold(0.1, 0.1)).toBe(0);
    // S_0.5 of [2, −0.3, 0.5, −2.5] = [1.5, 0, 0, −2].
    expect(Array.from(softThreshold(Float32Array.from([2, -0.3, 0.5, -2.5]), 0.5))).toEqual([1.5, 0, 0, -2]);
  });
});

describe('apgStep', () => {
  it('equals APGNAG steps 1–6 worked by hand', () => {
    // λ = 1, v = 0.2, g = 0.5, η = 0.1, γ = 0.3, μ = 0.9:
    // v = 0.9·0.2 = 0.18; z = 1 − 0.05 = 0.95; S_0.03 → 0.92; v = 0.92 − 1 + 0.18 = 0.10;
    // λ = 0.92 + 0.9·0.10 = 1.01.
    const kept = apgStep(1, 0.2, 0.5, 0.1, 0.3, 0.9);
    expect(kept.lambda).toBeCloseTo(1.01, 12);
    expect(kept.velocity).toBeCloseTo(0.1, 12);
    // λ = 0.02, v = −0.05, g = 0.1, η = 0.1, γ = 0.2, μ = 0.9:
    // v = −0.045; z = 0.02 − 0.01 = 0.01; |0.01| ≤ 0.02 → z = 0; v = 0 − 0.02 − 0.045 = −0.065;
    // λ = 0 + 0.9·(−0.065) = −0.0585 → clamped to 0, and v stays −0.065.
    const thresholded = apgStep(0.02, -0.05, 0.1, 0.1, 0.2, 0.9);
    expect(thresholded.lambda).toBe(0);
    expect(thresholded.velocity).toBeCloseTo(-0.065, 12);
    // λ = 0.05, v = 0, g = 2, η = 0.1, γ = 0.1, μ = 0.9:
    // z = 0.05 − 0.2 = −0.15; S_0.01 → −0.14; v = −0.14 − 0.05 = −0.19; λ = −0.14 − 0.171 = −0.311 → 0.
    const negative = apgStep(0.05, 0, 2, 0.1, 0.1, 0.9);
    expect(negative.lambda).toBe(0);
    expect(negative.velocity).toBeCloseTo(-0.19, 12);
    // The same three factors at once, stored as float32.
    const all = apgStep(Float32Array.from([1, 0.02, 0.05]), Float32Array.from([0.2, -0.05, 0]),
      Float32Array.from([0.5, 0.1, 2]), 0.1, 0.3, 0.9);
    // γ = 0.3 for all three: the second has S_0.03(0.01) = 0 as well (v, λ as above); the third has
    // S_0.03(−0.15) = −0.12, v = −0.17, λ = −0.12 − 0.153 → 0.
    expect(Array.from(all.lambda)).toEqual(float32([1.01, 0, 0]));
    expect(Array.from(all.velocity)).toEqual(float32([0.1, -0.065, -0.17]));
  });

  it('with γ = 0 is NAG on λ (m ← μm + g; λ ← λ − η(g + μm)), by hand and over 50 steps', () => {
    // λ = 1, g = 0.5 then 0.3, η = 0.1, μ = 0.9. NAG: m = 0.5, λ = 1 − 0.1·(0.5 + 0.45) = 0.905;
    // m = 0.45 + 0.3 = 0.75, λ = 0.905 − 0.1·(0.3 + 0.675) = 0.8075.
    const first = apgStep(1, 0, 0.5, 0.1, 0, 0.9);
    expect(first.lambda).toBeCloseTo(0.905, 12);
    const second = apgStep(first.lambda, first.velocity, 0.3, 0.1, 0, 0.9);
    expect(second.lambda).toBeCloseTo(0.8075, 12);
    // 50 steps with varied gradients at a constant LR; λ stays far from 0, so the clamp never acts.
    let apg = { lambda: 5, velocity: 0 };
    let nag = { lambda: 5, buffer: 0 };
    for (let step = 0; step < 50; step++) {
      const gradient = Math.sin(step) * 0.7;
      apg = apgStep(apg.lambda, apg.velocity, gradient, 0.05, 0, 0.9);
      const buffer = 0.9 * nag.buffer + gradient;
      nag = { lambda: nag.lambda - 0.05 * (gradient + 0.9 * buffer), buffer };
    }
    expect(apg.lambda).toBeCloseTo(nag.lambda, 10);
    expect(apg.velocity).toBeCloseTo(-0.05 * nag.buffer, 10);
  });

  it('keeps λ ≥ 0 over 2 000 random steps, and strong sparsity drives λ to exactly 0', () => {
    let state: ApgState<Float32Array> =
      { lambda: Float32Array.from([1, 0.5, 0.1, 2]), velocity: new Float32Array(4) };
    let seed = 7;
    // A small linear congruential generator, so the test is repeatable.
    const random = () => { seed = (seed * 1664525 + 1013904223) % 2 ** 32; return seed / 2 ** 32; };
    let reachedZero = false;
    for (let step = 0; step < 2000; step++) {
      const gradient = Float32Array.from({ length: 4 }, () => random() - 0.5);
      state = apgStep(state.lambda, state.velocity, gradient, 0.1, random() < 0.5 ? 0 : 2, 0.9);
      expect(state.lambda.every((value) => value >= 0)).toBe(true);
      reachedZero ||= state.lambda.some((value) => Object.is(value, 0));
    }
    expect(reachedZero).toBe(true);
  });
});

describe('apgHook', () => {
  it('updates its weights by apgStep with the LR it is given, and its state round-trips', () => {
    const hook = apgHook(['block/lambda'], 0.3, 0.9);
    const weight = tf.variable(tf.tensor1d([1, 0.02]));
    const weights = new Map([['block/lambda', weight]]);
    expect(hook.state()).toEqual([]);
    hook.step(weights, new Map([['block/lambda', tf.tensor1d([0.5, 0.1])]]), 0.1);
    // From v = 0: λ = 1 → z = 0.95 − 0.03 = 0.92, v = −0.08, λ = 0.92 − 0.072 = 0.848;
    // λ = 0.02 → z = 0.01 → 0, v = −0.02, λ = −0.018 → 0.
    expect(Array.from(weight.dataSync())).toEqual(float32([0.848, 0]));
    const [velocity] = hook.state();
    expect(velocity.shape).toEqual([2]);
    expect(Array.from(velocity.values)).toEqual(float32([-0.08, -0.02]));
    const copy = apgHook(['block/lambda'], 0.3, 0.9);
    copy.setState(hook.state());
    expect(copy.state()).toEqual(hook.state());
    expect(() => copy.setState([velocity, velocity])).toThrow(ApgStateError);
  });

  it('in a real training run with γ > 0 some factors reach exactly 0; with γ = 0 none do', async () => {
    // BN γ of a small VGG's second layer stands in for the block factors λ (8 factors, spread starts).
    const spec: ArchSpec = { arch: 'vgg', dataset: 'mnist', cfg: [4, 'M', 8], classifier: 'linear' };
    const factors = 'features.1.bn/gamma';
    const factorsStart = [0.25, 0.5, 1, 1.5, 2, 3, 4, 6];
    const count = 32;
    let seed = 3;
    const random = () => { seed = (seed * 1664525 + 1013904223) % 2 ** 32; return seed / 2 ** 32; };
    const images = Uint8Array.from({ length: count * 32 * 32 }, () => Math.floor(random() * 256));
    const set = { images, labels: Uint8Array.from({ length: count }, (_, i) => i % 10), count, height: 32,
      width: 32, channels: 1, classes: 10 };
    const factorsAfter = async (gamma: number) => {
      const model = buildModel(spec, 1);
      namedWeights(model).get(factors)!.write(tf.tensor1d(factorsStart));
      await train({ model, spec, data: { train: set, test: set, info: DATASETS.mnist }, seed: 1,
        recipe: { epochs: 3, batchSize: 8, lr: 0.02, momentum: 0.9, weightDecay: 5e-4, milestones: [],
          gamma: 0.1 },
        runDir: fs.mkdtempSync(path.join(os.tmpdir(), 'sss-apg-')), limit: { train: count, test: 8 },
        hooks: { ownUpdate: apgHook([factors], gamma) }, progress: false });
      return Array.from(namedWeights(model).get(factors)!.read().dataSync());
    };
    // 12 steps at η = 0.02: γ = 0.5 shrinks λ by η·γ = 0.01 a step (more with momentum), so the smallest
    // factors reach exactly 0 and the largest survive. Without it every factor stays above 0.2.
    const sparse = await factorsAfter(0.5);
    expect(sparse[0]).toBe(0);
    expect(sparse.every((value) => value >= 0)).toBe(true);
    expect(sparse[factorsStart.length - 1]).toBeGreaterThan(1);
    const dense = await factorsAfter(0);
    expect(dense.every((value) => value > 0.1)).toBe(true);
  });
});
