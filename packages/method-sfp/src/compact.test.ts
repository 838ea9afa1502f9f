import * as tf from '@tensorflow/tfjs';
import {
  buildModel, initBackend, namedSpec, namedWeights, narrowSpec, shutdownBackend, type ResNetSpec,
} from '@rethink-prune/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { compactModel } from './compact';
import { softPrune } from './soft-prune';
import './models'; // the folder's named models

beforeAll(async () => { await initBackend('cpu'); });
afterAll(() => shutdownBackend());

/** ResNet-20-sfp at half width: stages of 8, 16 and 32 channels, every block's inner width the stage's. */
const SPEC = narrowSpec(namedSpec('resnet20-sfp'), 2) as ResNetSpec;
const BLOCKS = [1, 2, 3].flatMap((stage) => [0, 1, 2].map((block) => `layer${stage}.${block}`));

/** Gives every BN the statistics and affine terms of a trained one, β > 0 so that ReLU passes the shift. */
function trainedLookingBatchNorms(model: tf.LayersModel): void {
  let seed = 11;
  const ranges: Record<string, [number, number]> = {
    gamma: [0.5, 1.5], beta: [0.1, 0.5], moving_mean: [-0.5, 0.5], moving_variance: [0.5, 1.5],
  };
  for (const [name, weight] of namedWeights(model)) {
    const range = ranges[name.split('/')[1]];
    if (range && /bn\d\//.test(name)) {
      weight.write(tf.randomUniform(weight.shape as number[], range[0], range[1], 'float32', seed++));
    }
  }
}

/** Filters of a conv whose weights are all exactly 0, read in plain JS from the NHWC kernel. */
function zeroFilters(model: tf.LayersModel, conv: string): number[] {
  const kernel = model.getLayer(conv).getWeights()[0];
  const outputs = kernel.shape[3] as number;
  const nonZero = new Array<boolean>(outputs).fill(false);
  kernel.dataSync().forEach((value, index) => { if (value !== 0) nonZero[index % outputs] = true; });
  return nonZero.flatMap((isNonZero, filter) => (isNonZero ? [] : [filter]));
}

/** Sets γ and β of the given channels of a BN layer to 0, leaving its statistics. */
function silenceBatchNorm(model: tf.LayersModel, layer: string, channels: number[]): void {
  const bn = model.getLayer(layer);
  const [gamma, beta, ...statistics] = bn.getWeights();
  const keep = Array.from({ length: gamma.shape[0] }, (_, channel) => (channels.includes(channel) ? 0 : 1));
  const zeroed = tf.tidy(() => [gamma, beta].map((weight) => tf.mul(weight, tf.tensor1d(keep))));
  bn.setWeights([...zeroed, ...statistics]);
  tf.dispose(zeroed);
}

function softPrunedModel(seed: number): tf.LayersModel {
  const model = buildModel(SPEC, seed);
  trainedLookingBatchNorms(model);
  softPrune(model, 0.7);
  return model;
}

const kernelShape = (model: tf.LayersModel, conv: string) => model.getLayer(conv).getWeights()[0].shape;

function maxLogitDifference(first: tf.LayersModel, second: tf.LayersModel): number {
  return tf.tidy(() => {
    const images = tf.randomNormal([4, 32, 32, 3], 0, 1, 'float32', 3);
    const [a, b] = [first, second].map((model) => model.predict(images) as tf.Tensor);
    return tf.max(tf.abs(tf.sub(a, b))).dataSync()[0];
  });
}

describe('compactModel: the dense model a soft-pruned ResNet allows', () => {
  it("shrinks each block's conv1 to C − int(0.3·C) filters (8 → 6, 16 → 12, 32 → 23) and nothing else", () => {
    const model = softPrunedModel(1);
    const compact = compactModel(model, SPEC);
    expect([...compact.shrunk].sort()).toEqual(BLOCKS.map((block) => `${block}.conv1`).sort());
    const spec = compact.spec as ResNetSpec;
    expect(spec.cfg).toEqual([6, 6, 6, 12, 12, 12, 23, 23, 23]);
    expect(spec.stageWidths).toEqual([8, 16, 32]);
    expect([spec.shortcutPool, spec.shortcutGradient, spec.fcInit]).toEqual([1, true, 'kaiming-normal']);
    expect(kernelShape(compact.model, 'conv1')).toEqual([3, 3, 3, 8]);
    expect(kernelShape(compact.model, 'layer1.0.conv1')).toEqual([3, 3, 8, 6]);
    expect(kernelShape(compact.model, 'layer1.0.conv2')).toEqual([3, 3, 6, 8]);
    expect(kernelShape(compact.model, 'layer2.0.conv1')).toEqual([3, 3, 8, 12]);
    expect(kernelShape(compact.model, 'layer3.2.conv2')).toEqual([3, 3, 23, 32]);
    // The second convs keep their zeroed filters: their outputs are tied to the residual stream.
    expect(zeroFilters(compact.model, 'layer3.2.conv2')).toHaveLength(9);
    expect(zeroFilters(compact.model, 'layer3.2.conv1')).toHaveLength(0);
    compact.model.dispose();
    model.dispose();
  });

  it("computes the same logits once the removed channels' bn1 γ and β are 0 too (≤ 1e-5), and not before", () => {
    const silenced = softPrunedModel(2);
    for (const block of BLOCKS) {
      silenceBatchNorm(silenced, `${block}.bn1`, zeroFilters(silenced, `${block}.conv1`));
    }
    const compactOfSilenced = compactModel(silenced, SPEC);
    expect(maxLogitDifference(silenced, compactOfSilenced.model)).toBeLessThanOrEqual(1e-5);

    // A zeroed filter's channel still passes its BN shift γ·(0 − μ)/σ + β through the ReLU: removal changes it.
    const unsilenced = softPrunedModel(2);
    const compactOfUnsilenced = compactModel(unsilenced, SPEC);
    expect(maxLogitDifference(unsilenced, compactOfUnsilenced.model)).toBeGreaterThan(1e-3);
    const models = [silenced, compactOfSilenced.model, unsilenced, compactOfUnsilenced.model];
    for (const model of models) model.dispose();
  });
});
