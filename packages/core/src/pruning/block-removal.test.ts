import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initBackend, shutdownBackend } from '../backend';
import { randomArray, seededRandom } from '../test-util/naive-conv';
import { BlockRemovalError, foldBlockScales, removeBlocks } from './block-removal';
import { buildResNet, type ResNetSpec } from '../models/resnet';
import { buildPreResNet, defaultPreResNetCfg, type PreResNetSpec } from '../models/preresnet';
import { validateSpec } from '../spec';

beforeAll(async () => { await initBackend('cpu'); });
afterAll(() => shutdownBackend());

/** ResNet-20 at a quarter width (stages 4, 8, 16), with a λ per block: small enough to run in a second. */
const spec: ResNetSpec = {
  arch: 'resnet', dataset: 'cifar10', depth: 20, stageWidths: [4, 8, 16],
  cfg: [4, 3, 2, 8, 7, 6, 16, 15, 14], blockScales: true,
};

const input = () => tf.tensor4d(randomArray(seededRandom(7), 2 * 32 * 32 * 3), [2, 32, 32, 3]);

function setLambda(model: tf.LayersModel, block: string, value: number): void {
  model.getLayer(`${block}.scale`).setWeights([tf.tensor1d([value])]);
}

const lambdaOf = (model: tf.LayersModel, block: string) =>
  model.getLayer(`${block}.scale`).getWeights()[0].dataSync()[0];

const logits = (model: tf.LayersModel, x: tf.Tensor) => Array.from((model.predict(x) as tf.Tensor).dataSync());

const largestDifference = (ours: number[], theirs: number[]) =>
  Math.max(...ours.map((value, i) => Math.abs(value - theirs[i])));

/** Gives every λ a distinct value, so a λ copied to the wrong block shows in the logits. */
function distinctLambdas(model: tf.LayersModel): void {
  const blocks = ['layer1.0', 'layer1.1', 'layer1.2', 'layer2.0', 'layer2.1', 'layer2.2',
    'layer3.0', 'layer3.1', 'layer3.2'];
  blocks.forEach((block, i) => setLambda(model, block, 0.6 + 0.1 * i));
}

describe('removeBlocks', () => {
  it('a net whose removed blocks have λ = 0 gives the same logits as the net without them', () => {
    const model = buildResNet(spec, 5);
    distinctLambdas(model);
    const x = input();
    const removed = ['layer1.0', 'layer2.2', 'layer3.1'];
    const pruned = removeBlocks(model, spec, removed);
    // With those λ still non-zero, the blocks matter: the logits differ.
    expect(largestDifference(logits(model, x), logits(pruned.model, x))).toBeGreaterThan(1e-3);
    for (const block of removed) setLambda(model, block, 0);
    expect(largestDifference(logits(model, x), logits(pruned.model, x))).toBeLessThan(1e-5);
    // λ moved with its block: layer1.1 became layer1.0, layer3.2 became layer3.1 (λ = 0.6 + 0.1·position).
    expect(lambdaOf(pruned.model, 'layer1.0')).toBeCloseTo(0.7, 6);
    expect(lambdaOf(pruned.model, 'layer3.1')).toBeCloseTo(1.4, 6);
    [model, pruned.model].forEach((net) => net.dispose());
    x.dispose();
  });

  it('the spec keeps the remaining blocks and their cfg entries, in order', () => {
    const model = buildResNet(spec, 5);
    const pruned = removeBlocks(model, spec, ['layer1.0', 'layer2.2', 'layer3.1']);
    expect(pruned.spec.blocks).toEqual([2, 2, 2]);
    expect(pruned.spec.cfg).toEqual([3, 2, 8, 7, 16, 14]);
    expect(pruned.spec.depth).toBe(20); // the nominal depth of the unpruned net
    const names = pruned.model.layers.map((layer) => layer.name).filter((name) => name.endsWith('.conv1'));
    expect(names).toEqual(['layer1.0.conv1', 'layer1.1.conv1', 'layer2.0.conv1', 'layer2.1.conv1',
      'layer3.0.conv1', 'layer3.1.conv1']);
    const kernel = (net: tf.LayersModel, layer: string) =>
      Array.from(net.getLayer(layer).getWeights()[0].dataSync());
    expect(kernel(pruned.model, 'layer2.1.conv1')).toEqual(kernel(model, 'layer2.1.conv1'));
    expect(kernel(pruned.model, 'layer3.1.conv2')).toEqual(kernel(model, 'layer3.2.conv2'));
    model.dispose();
    pruned.model.dispose();
  });

  it('removes all of stage 1 (the stem then feeds stage 2), then removes again from the pruned spec', () => {
    const model = buildResNet(spec, 6);
    distinctLambdas(model);
    const x = input();
    const stageOne = removeBlocks(model, spec, ['layer1.0', 'layer1.1', 'layer1.2']);
    expect(stageOne.spec.blocks).toEqual([0, 3, 3]);
    const twice = removeBlocks(stageOne.model, stageOne.spec, ['layer3.2']);
    expect(twice.spec.blocks).toEqual([0, 3, 2]);
    expect(twice.spec.cfg).toEqual([8, 7, 6, 16, 15]);
    for (const block of ['layer1.0', 'layer1.1', 'layer1.2', 'layer3.2']) setLambda(model, block, 0);
    expect(largestDifference(logits(model, x), logits(twice.model, x))).toBeLessThan(1e-5);
    [model, stageOne.model, twice.model].forEach((net) => net.dispose());
    x.dispose();
  });

  it('refuses a block whose shortcut changes shape, an unknown block and a block named twice', () => {
    const model = buildResNet(spec, 5);
    expect(() => removeBlocks(model, spec, ['layer2.0'])).toThrow(BlockRemovalError);
    expect(() => removeBlocks(model, spec, ['layer2.0'])).toThrow(
      "removed: 'layer2.0' cannot go: its shortcut pools by stride 2 and pads 4 → 8 channels");
    expect(() => removeBlocks(model, spec, ['layer3.0'])).toThrow('pads 8 → 16 channels');
    expect(() => removeBlocks(model, spec, ['layer1.3'])).toThrow(
      "removed: 'layer1.3' is not a block of this spec; name blocks among layer1.0, layer1.1");
    expect(() => removeBlocks(model, spec, ['layer1.1', 'layer1.1'])).toThrow("'layer1.1' is named twice");
    // A spec of a deeper net than the model: layer1.0–1.2 match, layer1.3 is missing.
    const wider = { ...spec, depth: 32, cfg: [4, 3, 2, 1, 1, 8, 7, 6, 1, 1, 16, 15, 14, 1, 1] };
    expect(() => removeBlocks(model, wider, [])).toThrow("model: 'layer1.3.conv1' is a layer of the spec");
    model.dispose();
  });
});

describe('foldBlockScales', () => {
  it('folds each λ into its bn2: a plain ResNet with the same logits, and no λ layer left', () => {
    const model = buildResNet(spec, 5);
    distinctLambdas(model);
    setLambda(model, 'layer2.1', 0); // a zero λ folds to a zero branch
    const x = input();
    const folded = foldBlockScales(model, spec);
    expect(folded.spec.blockScales).toBeUndefined();
    expect(folded.model.layers.some((layer) => layer.name.endsWith('.scale'))).toBe(false);
    expect(largestDifference(logits(model, x), logits(folded.model, x))).toBeLessThan(1e-5);
    // bn2's γ of layer1.1 scaled by its λ = 0.7, by hand from the unfolded model's γ.
    const gamma = (net: tf.LayersModel) => Array.from(net.getLayer('layer1.1.bn2').getWeights()[0].dataSync());
    expect(gamma(folded.model)).toEqual(gamma(model).map((value) => Math.fround(value * Math.fround(0.7))));
    [model, folded.model].forEach((net) => net.dispose());
    x.dispose();
  });
});

describe('block removal and folding in a PreResNet (pre-activation bottlenecks)', () => {
  /** PreResNet-29 (3 bottlenecks per stage) with planes 2, 4, 8; layer1.2 selects 3 of its 8 input channels. */
  const cfg = defaultPreResNetCfg(29, [2, 4, 8]);
  cfg[6] = 3;
  const pre: PreResNetSpec = {
    arch: 'preresnet', dataset: 'cifar10', depth: 29, planes: [2, 4, 8], cfg, blockScales: true,
    selections: { 'layer1.2.select': [0, 2, 5] },
  };
  const blocks = ['layer1.0', 'layer1.1', 'layer1.2', 'layer2.0', 'layer2.1', 'layer2.2', 'layer3.0', 'layer3.1', 'layer3.2'];
  const distinct = (model: tf.LayersModel) => blocks.forEach((block, i) => setLambda(model, block, 0.6 + 0.1 * i));

  it('a PreResNet whose removed blocks have λ = 0 gives the same logits as the net without them', () => {
    const model = buildPreResNet(validateSpec(pre) as PreResNetSpec, 5);
    distinct(model);
    const x = input();
    const removed = ['layer1.1', 'layer3.2'];
    const pruned = removeBlocks(model, pre, removed);
    expect(largestDifference(logits(model, x), logits(pruned.model, x))).toBeGreaterThan(1e-3);
    for (const block of removed) setLambda(model, block, 0);
    expect(largestDifference(logits(model, x), logits(pruned.model, x))).toBeLessThan(1e-5);
    // layer1.2 (λ 0.8) is now layer1.1, with its selection renamed and its three widths (3, 2, 2) moved up
    expect(lambdaOf(pruned.model, 'layer1.1')).toBeCloseTo(0.8, 6);
    expect(pruned.spec.blocks).toEqual([2, 3, 2]);
    expect(pruned.spec.selections).toEqual({ 'layer1.1.select': [0, 2, 5] });
    expect(pruned.spec.cfg.slice(0, 6)).toEqual([2, 2, 2, 3, 2, 2]);
    expect(pruned.spec.cfg).toHaveLength(3 * 7 + 1);
    expect(() => validateSpec(pruned.spec)).not.toThrow();
    [model, pruned.model].forEach((net) => net.dispose());
    x.dispose();
  });

  it('refuses the first block of any stage: its 1×1 conv shortcut changes the width', () => {
    const model = buildPreResNet(pre, 5);
    expect(() => removeBlocks(model, pre, ['layer1.0'])).toThrow(
      "removed: 'layer1.0' cannot go: its shortcut is a 1×1 conv that changes the width");
    expect(() => removeBlocks(model, pre, ['layer3.0'])).toThrow('keep the first block of every stage');
    expect(() => validateSpec({ ...pre, blocks: [0, 3, 3] })).toThrow('blocks: [0,3,3]; give three block counts in 1..3');
    model.dispose();
  });

  it('folds each λ into its conv3: a plain PreResNet with the same logits', () => {
    const model = buildPreResNet(pre, 5);
    distinct(model);
    const x = input();
    const folded = foldBlockScales(model, pre);
    expect(folded.spec.blockScales).toBeUndefined();
    expect(folded.model.layers.some((layer) => layer.name.endsWith('.scale'))).toBe(false);
    expect(largestDifference(logits(model, x), logits(folded.model, x))).toBeLessThan(1e-5);
    // conv3 kernels scaled by their block's λ: layer3.1's 0.6 + 0.1·7 = 1.3, layer1.0's 0.6
    const kernel = (net: tf.LayersModel) => Array.from(net.getLayer('layer3.1.conv3').getWeights()[0].dataSync());
    expect(kernel(folded.model)).toEqual(kernel(model).map((value) => Math.fround(value * Math.fround(1.3))));
    const first = (net: tf.LayersModel) => Array.from(net.getLayer('layer1.0.conv3').getWeights()[0].dataSync());
    expect(first(folded.model)).toEqual(first(model).map((value) => Math.fround(value * Math.fround(0.6))));
    [model, folded.model].forEach((net) => net.dispose());
    x.dispose();
  });
});
