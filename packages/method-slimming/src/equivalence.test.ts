import * as tf from '@tensorflow/tfjs';
import {
  buildModel, countSpec, initBackend, mulberry32, namedSpec, narrowSpec, pruneChannels, shutdownBackend,
  type ArchSpec, type KeepSets,
} from '@rethink-prune/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { groupScales, slimmingKeepSets, type SlimmingPrune } from './threshold';

beforeAll(async () => { await initBackend('cpu'); });
afterAll(() => shutdownBackend());

const TOLERANCE = 1e-5;

/** Random γ (either sign, |γ| in 0.1..1.1), β, mean and positive variance: no channel is trivially silent. */
function randomiseBatchNorms(model: tf.LayersModel, rand: () => number): void {
  const draw = (size: number, value: () => number) => tf.tensor1d(Array.from({ length: size }, value));
  for (const layer of model.layers) {
    if (layer.getClassName() !== 'BatchNormalization') continue;
    const size = layer.getWeights()[0].size;
    const values = [
      draw(size, () => (rand() < 0.5 ? -1 : 1) * (0.1 + rand())), draw(size, () => rand() - 0.5),
      draw(size, () => rand() - 0.5), draw(size, () => 0.5 + rand()),
    ];
    layer.setWeights(values);
    tf.dispose(values);
  }
}

/**
 * The BN whose channels a group's keep-set names, by the seed's layer names alone (not through core's
 * graph): a selection reads the bn1 of its unit (`select` reads the final `bn`); PreResNet's conv1/conv2
 * feed bn2/bn3.
 */
function batchNormOfGroup(group: string): string {
  if (group === 'select') return 'bn';
  if (group.endsWith('.select')) return group.replace(/\.select$/, '.bn1');
  const conv = /^(.*)\.conv(\d)$/.exec(group);
  if (!conv) throw new Error(`equivalence.test.ts: no BN for group '${group}'; extend batchNormOfGroup`);
  return `${conv[1]}.bn${Number(conv[2]) + 1}`;
}

/** A copy of `model` (same weights) whose dropped BN channels have γ = β = 0, as resprune.py zeroes them. */
function silencedCopy(model: tf.LayersModel, spec: ArchSpec, seed: number, keep: KeepSets): tf.LayersModel {
  const copy = buildModel(spec, seed);
  copy.setWeights(model.getWeights());
  for (const [group, kept] of Object.entries(keep)) {
    const layer = copy.getLayer(batchNormOfGroup(group));
    const [gamma, beta, mean, variance] = layer.getWeights();
    const mask = tf.tensor1d(Array.from({ length: gamma.size }, (_, c) => (kept.includes(c) ? 1 : 0)));
    const silenced = [tf.mul(gamma, mask), tf.mul(beta, mask)];
    layer.setWeights([...silenced, mean, variance]);
    tf.dispose([mask, ...silenced]);
  }
  return copy;
}

function randomBatch(model: tf.LayersModel, rand: () => number, batch = 2): tf.Tensor4D {
  const [, height, width, channels] = model.inputs[0].shape as number[];
  const size = batch * height * width * channels;
  return tf.tensor4d(Array.from({ length: size }, () => 2 * rand() - 1), [batch, height, width, channels]);
}

function maxAbsDifference(first: tf.LayersModel, second: tf.LayersModel, input: tf.Tensor): number {
  return tf.tidy(() => {
    const difference = tf.sub(first.predict(input) as tf.Tensor, second.predict(input) as tf.Tensor);
    return tf.max(tf.abs(difference)).dataSync()[0];
  });
}

/**
 * The seed's rule in closed form: with N distinct |γ| the threshold is the (⌊N·p⌋+1)-th smallest and only
 * the larger ones stay, so N − ⌊N·p⌋ − 1 channels are kept, plus one per group that would have emptied.
 */
function expectedKeptCount(offered: number, percent: number, emptiedGroups: number): number {
  return offered - Math.floor(offered * percent) - 1 + emptiedGroups;
}

function keptCount(scales: ReturnType<typeof groupScales>, prune: SlimmingPrune): number {
  return scales.reduce((sum, group) => sum + (prune.keep[group.group] ?? group.channels).length, 0);
}

interface PruneCheck {
  prune: SlimmingPrune;
  pruned: { spec: ArchSpec; model: tf.LayersModel };
  /** Max |logit difference| pruned vs silenced, and pruned vs the untouched model. */
  silencedError: number;
  untouchedDifference: number;
}

/** Slimming's keep-sets at `percent`, the surgery, and both logit comparisons on one random batch. */
function pruneAndCompare(model: tf.LayersModel, spec: ArchSpec, seed: number, percent: number): PruneCheck {
  const scales = groupScales(model, spec);
  const prune = slimmingKeepSets(scales, percent);
  const offered = scales.reduce((sum, group) => sum + group.channels.length, 0);
  expect(keptCount(scales, prune)).toBe(expectedKeptCount(offered, percent, prune.emptied.length));
  const pruned = pruneChannels(model, spec, prune.keep);
  const silenced = silencedCopy(model, spec, seed, prune.keep);
  const input = randomBatch(model, mulberry32(seed + 100));
  const silencedError = maxAbsDifference(pruned.model, silenced, input);
  const untouchedDifference = maxAbsDifference(pruned.model, model, input);
  silenced.dispose();
  input.dispose();
  return { prune, pruned, silencedError, untouchedDifference };
}

const selectionGroups = (keep: KeepSets) => Object.keys(keep).filter((group) => group.endsWith('select'));
const convGroups = (keep: KeepSets) => Object.keys(keep).filter((group) => /\.conv\d$/.test(group));
const gammaLength = (model: tf.LayersModel, bn: string) => model.getLayer(bn).getWeights()[0].size;

describe('Network Slimming on PreResNet-20 (planes [8, 16, 32]): pruned = silenced', () => {
  const seed = 3;
  const spec = narrowSpec(namedSpec('preresnet20'), 2);

  it('prunes 50% of BN channels; logits match the unpruned model with dropped channels silenced', () => {
    const model = buildModel(spec, seed);
    randomiseBatchNorms(model, mulberry32(seed));
    const { prune, pruned, silencedError, untouchedDifference } = pruneAndCompare(model, spec, seed, 0.5);
    expect(selectionGroups(prune.keep).length).toBeGreaterThan(0);
    expect(convGroups(prune.keep).length).toBeGreaterThan(0);
    expect(silencedError).toBeLessThan(TOLERANCE);
    // The dropped channels did carry signal, so the equality above is not vacuous.
    expect(untouchedDifference).toBeGreaterThan(1e-3);
    expect(countSpec(pruned.spec).params).toBeLessThan(countSpec(spec).params);
    // bn1 (read by layer1.0.select) keeps its 8 channels; bn2 holds only conv1's kept ones.
    expect(gammaLength(pruned.model, 'layer1.0.bn1')).toBe(8);
    const conv = convGroups(prune.keep)[0];
    expect(gammaLength(pruned.model, batchNormOfGroup(conv))).toBe(prune.keep[conv].length);
    model.dispose();
    pruned.model.dispose();
  });

  it('prunes the pruned model again (30%): selections narrow to a subset and logits still match', () => {
    const model = buildModel(spec, seed);
    randomiseBatchNorms(model, mulberry32(seed));
    const first = pruneAndCompare(model, spec, seed, 0.5);
    const second = pruneAndCompare(first.pruned.model, first.pruned.spec, seed, 0.3);
    const narrowed = selectionGroups(second.prune.keep);
    expect(narrowed.length).toBeGreaterThan(0);
    expect(convGroups(second.prune.keep).length).toBeGreaterThan(0);
    for (const group of narrowed) {
      const before = first.prune.keep[group] ?? [];
      if (before.length > 0) expect(before).toEqual(expect.arrayContaining(second.prune.keep[group]));
    }
    expect(narrowed.some((group) => first.prune.keep[group] !== undefined)).toBe(true);
    expect(second.silencedError).toBeLessThan(TOLERANCE);
    expect(second.untouchedDifference).toBeGreaterThan(1e-3);
    expect(countSpec(second.pruned.spec).params).toBeLessThan(countSpec(first.pruned.spec).params);
    model.dispose();
    first.pruned.model.dispose();
    second.pruned.model.dispose();
  });
});

describe('Network Slimming on DenseNet-40 (slimming, growth 3): pruned = silenced', () => {
  it('prunes 50% of BN channels; logits match the unpruned model with dropped channels silenced', () => {
    const seed = 7;
    const spec = narrowSpec(namedSpec('densenet40'), 4);
    const model = buildModel(spec, seed);
    randomiseBatchNorms(model, mulberry32(seed));
    const { prune, pruned, silencedError, untouchedDifference } = pruneAndCompare(model, spec, seed, 0.5);
    const groups = selectionGroups(prune.keep);
    // Both a dense layer's input and a transition's (or the final BN's) input lost channels.
    expect(groups.some((group) => group.startsWith('dense'))).toBe(true);
    expect(groups.some((group) => group.startsWith('trans') || group === 'select')).toBe(true);
    expect(silencedError).toBeLessThan(TOLERANCE);
    expect(untouchedDifference).toBeGreaterThan(1e-3);
    expect(countSpec(pruned.spec).params).toBeLessThan(countSpec(spec).params);
    // Every BN keeps full width (the first dense layer reads the stem's 6 channels); the conv reads fewer.
    expect(gammaLength(pruned.model, 'dense1.0.bn1')).toBe(6);
    const group = groups.find((name) => name.startsWith('dense'))!;
    const convInput = pruned.model.getLayer(group.replace(/select$/, 'conv1')).getWeights()[0].shape[2];
    expect(convInput).toBe(prune.keep[group].length);
    model.dispose();
    pruned.model.dispose();
  });
});
