import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initBackend, shutdownBackend } from '../backend';
import { SpecError } from '../errors';
import { channelGroups } from './graph';
import { defaultDenseNetCfg } from '../models/densenet';
import { type ArchSpec, buildModel, namedSpec } from '../spec';
import { type KeepSets, pruneChannels } from './surgery';
import { randomArray, relativeError, seededRandom } from '../test-util/naive-conv';
import { narrowSpec } from '../widths';

beforeAll(async () => { await initBackend('wasm'); });
afterAll(() => shutdownBackend());

/** Random BN statistics and affine parameters, so that the check does not pass by symmetry. */
function randomiseBatchNorms(model: tf.LayersModel, rand: () => number): void {
  for (const layer of model.layers) {
    if (layer.getClassName() !== 'BatchNormalization') continue;
    const [g, b, m, v] = layer.getWeights();
    layer.setWeights([
      tf.tensor(randomArray(rand, g.size)).add(1.5), tf.tensor(randomArray(rand, b.size)),
      tf.tensor(randomArray(rand, m.size)), tf.tensor(randomArray(rand, v.size)).abs().add(0.5),
    ]);
  }
}

/** Silences dropped channels in place: their BN γ and β become 0, so the BN output (and ReLU) is 0. */
function zeroDropped(model: tf.LayersModel, spec: ArchSpec, keep: KeepSets): void {
  for (const g of channelGroups(spec)) {
    if (!keep[g.id]) continue;
    const layer = model.getLayer(g.selection?.bn ?? g.members.find((m) => m.kind === 'bn')!.layer);
    const mask = tf.tensor(Array.from({ length: g.size }, (_, c) => (keep[g.id].includes(c) ? 1 : 0)));
    const [gamma, beta, mean, variance] = layer.getWeights();
    layer.setWeights([gamma.mul(mask), beta.mul(mask), mean, variance]);
  }
}

function randomKeep(spec: ArchSpec, rand: () => number, fraction: number): KeepSets {
  const keep: KeepSets = {};
  for (const g of channelGroups(spec)) {
    if (g.specIndex < 0) continue;
    const pool = g.selection ? g.selection.current : Array.from({ length: g.size }, (_, i) => i);
    const order = [...pool].sort(() => rand() - 0.5);
    keep[g.id] = order.slice(0, Math.max(1, Math.round(pool.length * fraction)));
  }
  return keep;
}

describe.each([
  ['VGG-11 (l1 head)', namedSpec('vgg11')],
  ['VGG-13 (slimming head)', namedSpec('vgg13-linear')],
  ['ResNet-20 (inner block channels)', namedSpec('resnet20')],
  ['PreResNet-20 (bottlenecks and channel selections)', namedSpec('preresnet20')],
  ['narrow PreResNet-20 (planes [4, 8, 16])', narrowSpec(namedSpec('preresnet20'), 4)],
  ['ResNet-18 ImageNet (inner block channels)', namedSpec('resnet18-imagenet')],
  ['narrow ImageNet VGG with BN (convs and fc layers)', { arch: 'vgg-imagenet', dataset: 'imagenet', batchNorm: true,
    cfg: [8, 'M', 8, 'M', 16, 'M', 16, 'M', 16, 'M'], classifier: [32, 24] } as ArchSpec],
  ['DenseNet-16 (slimming: concatenations and channel selections)', { arch: 'densenet', dataset: 'cifar10', depth: 16,
    cfg: defaultDenseNetCfg({ arch: 'densenet', dataset: 'cifar10', depth: 16 }) } as ArchSpec],
])('surgery on %s', (_, spec) => {
  it('the pruned model gives the logits of the original with dropped channels silenced (1e-5)', () => {
    const rand = seededRandom(21);
    const model = buildModel(spec, 1);
    randomiseBatchNorms(model, rand);
    const keep = randomKeep(spec, rand, 0.6);
    const { spec: small, model: pruned } = pruneChannels(model, spec, keep);
    for (const g of channelGroups(small).filter((x) => x.specIndex >= 0)) expect(g.selection ? g.selection.current : g.size).toEqual(g.selection ? [...keep[g.id]].sort((a, b) => a - b) : keep[g.id].length);
    zeroDropped(model, spec, keep);
    const [, h, w, c] = model.inputs[0].shape as number[];
    const x = tf.tensor4d(randomArray(rand, 2 * h * w * c), [2, h, w, c]);
    const want = (model.predict(x) as tf.Tensor).dataSync();
    const got = (pruned.predict(x) as tf.Tensor).dataSync();
    expect(relativeError(got, want)).toBeLessThan(1e-5);
    expect(pruned.countParams()).toBeLessThan(model.countParams());
  });
});

describe('pruning a PreResNet twice', () => {
  it('narrows the selections again; logits match the original with both rounds of channels silenced', () => {
    const rand = seededRandom(5);
    const spec = namedSpec('preresnet20');
    const model = buildModel(spec, 2);
    randomiseBatchNorms(model, rand);
    const first = randomKeep(spec, rand, 0.75);
    const once = pruneChannels(model, spec, first);
    const second = randomKeep(once.spec, rand, 0.6);
    const twice = pruneChannels(once.model, once.spec, second);
    expect(twice.spec.arch === 'preresnet' && twice.spec.selections!['layer2.0.select']).toEqual([...second['layer2.0.select']].sort((a, b) => a - b));
    const err = (() => { try { pruneChannels(once.model, once.spec, { 'layer1.0.select': [first['layer1.0.select'].length === 16 ? 99 : [...Array(16).keys()].find((c) => !first['layer1.0.select'].includes(c))!] }); } catch (e) { return e as Error; } })();
    expect(err?.message).toMatch(/not selected now|outside/);
    zeroDropped(once.model, once.spec, second);
    const x = tf.tensor4d(randomArray(rand, 2 * 32 * 32 * 3), [2, 32, 32, 3]);
    const want = (once.model.predict(x) as tf.Tensor).dataSync();
    const got = (twice.model.predict(x) as tf.Tensor).dataSync();
    expect(relativeError(got, want)).toBeLessThan(1e-5);
  });
});

describe('pruneChannels input checks', () => {
  it('names unknown groups, empty and out-of-range keep-sets', () => {
    const spec = namedSpec('vgg11');
    const model = buildModel(spec);
    const err = (() => { try { pruneChannels(model, spec, { 'features.0.conv': [], 'features.1.conv': [0, 200], nope: [1] }); } catch (e) { return e as SpecError; } })();
    expect(err).toBeInstanceOf(SpecError);
    expect(err!.problems).toEqual([
      'features.0.conv: keeps no channel; at least one must remain',
      'features.1.conv: indices 200 outside 0..127',
      "keep-set for unknown channel group 'nope'",
    ]);
  });

  it('keeps the named filters: the pruned conv holds exactly those slices', () => {
    const spec = namedSpec('vgg11');
    const model = buildModel(spec, 2);
    const { model: pruned } = pruneChannels(model, spec, { 'features.0.conv': [5, 1, 9] });
    const before = model.getLayer('features.0.conv').getWeights()[0];
    const after = pruned.getLayer('features.0.conv').getWeights()[0];
    expect(after.shape).toEqual([3, 3, 3, 3]);
    expect(Array.from(after.dataSync())).toEqual(Array.from(tf.gather(before, [1, 5, 9], 3).dataSync()));
    const next = pruned.getLayer('features.1.conv').getWeights()[0];
    expect(Array.from(next.dataSync())).toEqual(Array.from(tf.gather(model.getLayer('features.1.conv').getWeights()[0], [1, 5, 9], 2).dataSync()));
  });
});
