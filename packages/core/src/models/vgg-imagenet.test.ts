import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initBackend, shutdownBackend } from '../backend';
import { SpecError } from '../errors';
import { channelGroups } from '../pruning/graph';
import { buildModel, namedSpec, validateSpec, type ArchSpec, type ImageNetVggSpec } from '../spec';
import { pruneChannels } from '../pruning/surgery';
import { randomArray, relativeError, seededRandom } from '../test-util/naive-conv';
import { narrowSpec } from '../widths';

beforeAll(async () => { await initBackend('cpu'); });
afterAll(() => shutdownBackend());

/** A small ThiNet-GAP-shaped net: four pools, last map 14×14, no hidden fc layers. */
const smallGap: ImageNetVggSpec = {
  arch: 'vgg-imagenet', dataset: 'imagenet', cfg: [4, 'M', 4, 'M', 6, 'M', 6, 'M', 8], batchNorm: false,
  head: 'gap',
};

function problemsOf(input: object): string[] {
  try {
    validateSpec(input);
  } catch (error) {
    if (error instanceof SpecError) return error.problems;
    throw error;
  }
  return [];
}

describe('ImageNet VGG with the gap head (ThiNet-GAP / ThiNet-Tiny)', () => {
  it('builds four pools, AvgPool(14, 2) to 1×1 and one class layer `fc`; no pool5, fc1 or fc3', () => {
    const model = buildModel(smallGap, 0);
    const names = model.layers.map((layer) => layer.name);
    expect(names.filter((name) => name.startsWith('features.pool'))).toHaveLength(4);
    expect(names).not.toContain('fc1');
    expect(names).not.toContain('fc3');
    expect(model.getLayer('features.4.relu').outputShape).toEqual([null, 14, 14, 8]);
    expect(model.getLayer('avgpool').outputShape).toEqual([null, 1, 1, 8]);
    expect(model.getLayer('fc').getWeights()[0].shape).toEqual([8, 1000]);
    expect(model.outputs[0].shape).toEqual([null, 1000]);
    model.dispose();
  });

  it('the logits are fc applied to the mean of the last ReLU map over its 14×14 positions', () => {
    const model = buildModel(smallGap, 3);
    const lastMap = tf.model({ inputs: model.inputs, outputs: model.getLayer('features.4.relu').output });
    const [kernel, bias] = model.getLayer('fc').getWeights();
    tf.tidy(() => {
      const images = tf.tensor4d(randomArray(seededRandom(4), 2 * 224 * 224 * 3), [2, 224, 224, 3]);
      const pooled = (lastMap.predict(images) as tf.Tensor).mean([1, 2]) as tf.Tensor2D;
      const want = tf.matMul(pooled, kernel as tf.Tensor2D).add(bias).dataSync();
      const got = (model.predict(images) as tf.Tensor).dataSync();
      expect(relativeError(got, want)).toBeLessThan(1e-5);
    });
    model.dispose();
  });

  it('validation names the field and the fix for a gap cfg with pool5, a classifier and an unknown head', () => {
    const withPool5 = { ...smallGap, cfg: [...smallGap.cfg, 'M'] };
    expect(problemsOf(withPool5)).toEqual([expect.stringMatching(/^cfg: with head "gap" the cfg has four "M"/)]);
    const withClassifier = { ...smallGap, classifier: [4096, 4096] };
    expect(problemsOf(withClassifier)).toEqual([
      'classifier: [4096,4096]; head "gap" has no hidden fc layers, drop the field',
    ]);
    expect(problemsOf({ ...smallGap, head: 'pool' }))
      .toContain('head: "pool"; use "fc" (torchvision\'s fc1–fc3) or "gap" (ThiNet-GAP)');
    // The fc head still wants five pools, and says where a 14×14 map belongs.
    const fcWithFourPools = { ...smallGap, head: 'fc', classifier: [64, 64] };
    expect(problemsOf(fcWithFourPools)).toEqual([expect.stringMatching(/five "M".*set head "gap"$/)]);
    expect(problemsOf(smallGap)).toEqual([]);
  });

  it('channel groups: one per conv, the last read once by `fc` (1×1 after pooling); no fc groups', () => {
    const groups = channelGroups(smallGap);
    expect(groups.map((group) => [group.id, group.size, group.specIndex])).toEqual([
      ['features.0.conv', 4, 0], ['features.1.conv', 4, 2], ['features.2.conv', 6, 4],
      ['features.3.conv', 6, 6], ['features.4.conv', 8, 8],
    ]);
    expect(groups[4].members).toEqual([
      { layer: 'features.4.conv', kind: 'conv-out' }, { layer: 'fc', kind: 'dense-in', repeat: 1 },
    ]);
  });

  it('narrowSpec halves the convs and adds no classifier', () => {
    expect(narrowSpec(smallGap, 2)).toEqual({ ...smallGap, cfg: [2, 'M', 2, 'M', 3, 'M', 3, 'M', 4] });
  });

  it('surgery: the pruned net gives the logits of the original with the dropped filters zeroed (1e-5)', () => {
    const model = buildModel(smallGap, 1);
    const keep = { 'features.1.conv': [0, 3], 'features.4.conv': [1, 2, 6] };
    const { spec: small, model: pruned } = pruneChannels(model, smallGap, keep);
    expect((small as ImageNetVggSpec).cfg).toEqual([4, 'M', 2, 'M', 6, 'M', 6, 'M', 3]);
    // Without BN, a filter whose kernel and bias are zero outputs 0 after ReLU, as if it were removed.
    for (const [layerName, kept] of Object.entries(keep)) {
      const layer = model.getLayer(layerName);
      const [kernel, bias] = layer.getWeights();
      const flags = Array.from({ length: bias.size }, (_, channel) => (kept.includes(channel) ? 1 : 0));
      const mask = tf.tensor1d(flags);
      layer.setWeights([kernel.mul(mask), bias.mul(mask)]);
    }
    const images = tf.tensor4d(randomArray(seededRandom(9), 2 * 224 * 224 * 3), [2, 224, 224, 3]);
    const want = (model.predict(images) as tf.Tensor).dataSync();
    const got = (pruned.predict(images) as tf.Tensor).dataSync();
    expect(relativeError(got, want)).toBeLessThan(1e-5);
    expect(pruned.getLayer('fc').getWeights()[0].shape).toEqual([3, 1000]);
  });
});

describe('ImageNet VGG with the fc head (unchanged by the gap option)', () => {
  it('vgg16-imagenet: five pools to 7×7, fc1 reads 7·7·512 inputs, no avgpool layer', () => {
    const spec = namedSpec('vgg16-imagenet') as ImageNetVggSpec;
    expect(spec.head).toBeUndefined();
    const groups = channelGroups(spec as ArchSpec);
    expect(groups.find((group) => group.id === 'features.12.conv')!.members[1])
      .toEqual({ layer: 'fc1', kind: 'dense-in', repeat: 49 });
    expect(groups.filter((group) => group.id.startsWith('fc')).map((group) => group.size)).toEqual([4096, 4096]);
  });
});
