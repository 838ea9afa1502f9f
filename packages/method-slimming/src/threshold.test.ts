import * as tf from '@tensorflow/tfjs';
import { buildModel, channelGroups, initBackend, namedSpec, namedWeights, narrowSpec, shutdownBackend, type ArchSpec } from '@rethink-prune/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { globalThreshold, groupScales, NoBatchNormError, slimmingKeepSets, type GroupScales } from './threshold';
import './models'; // the folder's named models

beforeAll(async () => { await initBackend('cpu'); });
afterAll(() => shutdownBackend());

/** A group of `scales` over BN channels 0..n−1 (or the given selected channels). */
const group = (name: string, scales: number[], channels = scales.map((_, c) => c)): GroupScales =>
  ({ group: name, bn: `${name}.bn`, channels, scales });

describe('the global threshold (vggprune.py: sorted |γ| at index int(total · percent), keep |γ| > t)', () => {
  it('keeps exactly the channels above the 5th smallest of 9 at 0.5; an emptied layer keeps its largest', () => {
    // Sorted: 0.01 0.02 0.05 0.1 [0.2] 0.3 0.4 0.5 0.9 — int(9 · 0.5) = 4 → t = 0.2.
    const groups = [group('a', [0.1, 0.5, 0.3]), group('b', [0.2, 0.05, 0.9, 0.4]), group('c', [0.01, 0.02])];
    expect(globalThreshold(groups, 0.5)).toBeCloseTo(0.2, 12);
    const { keep, emptied } = slimmingKeepSets(groups, 0.5);
    expect(keep).toEqual({ a: [1, 2], b: [2, 3], c: [1] });
    expect(emptied).toEqual(['c']);
  });

  it('drops every channel tied with the threshold (strict >), so more than int(total · percent) go', () => {
    // Sorted: 0.3 [0.3] 0.3 0.3 0.6 0.7 — int(6 · 0.3) = 1 → t = 0.3; four channels go, not two.
    const { keep, emptied, removed, total } = slimmingKeepSets([group('a', [0.3, 0.3, 0.3, 0.6]), group('b', [0.3, 0.7])], 0.3);
    expect(keep).toEqual({ a: [3], b: [1] });
    expect(emptied).toEqual([]);
    expect([removed, total]).toEqual([4, 6]);
  });

  it('an emptied layer whose scales tie keeps its lowest channel; a layer that loses nothing has no keep-set', () => {
    const { keep, emptied } = slimmingKeepSets([group('a', [0.02, 0.02]), group('b', [0.5, 0.6, 0.7, 0.8])], 0.25);
    expect(keep).toEqual({ a: [0] });
    expect(emptied).toEqual(['a']);
  });

  it('a selection keeps BN channel numbers, not positions', () => {
    // Selected BN channels 1, 4, 6 of a wider BN; sorted 0.1 0.2 [0.5] 0.6 0.9 at 0.5 → t = 0.5 (b empties).
    const { keep } = slimmingKeepSets([group('sel', [0.9, 0.1, 0.6], [1, 4, 6]), group('b', [0.2, 0.5])], 0.5);
    expect(keep).toEqual({ sel: [1, 6], b: [1] });
  });
});

describe('groupScales on a model', () => {
  const spec = narrowSpec(namedSpec('vgg19-slimming'), 8);

  it('reads |γ| of the BN after each conv: a negative γ counts by its size', () => {
    const model = buildModel(spec, 1);
    const gamma = namedWeights(model).get('features.3.bn/gamma')!;
    const values = [-0.9, 0.05, 0.3, -0.01, 0.7, 0, 0.2, -0.4, 0.6, 0.1, -0.2, 0.8, 0.25, -0.35, 0.45, 0.55];
    gamma.write(tf.tensor1d(values.slice(0, gamma.shape[0]!)));
    const scales = groupScales(model, spec).find((g) => g.group === 'features.3.conv')!;
    expect(scales.bn).toBe('features.3.bn');
    scales.scales.forEach((s, i) => expect(s).toBeCloseTo(Math.abs(values[i]), 6));
    model.dispose();
  });

  it('covers every BN of VGG-19 (16), PreResNet-164 (163: bn1 ×54, bn2, bn3, final bn) and DenseNet-40 (39)', () => {
    // The seed thresholds over all 16 / 163 / 39 BatchNorm2d modules (5 504, 12 112 and 9 360 channels at full width).
    const full: Array<[string, number, number]> = [['vgg19-slimming', 16, 5504], ['preresnet164', 163, 12112],
      ['densenet40', 39, 9360]];
    for (const [name, bns, channels] of full) {
      const specFull = namedSpec(name);
      const model = buildModel(narrowSpec(specFull, 8), 0);
      const groups = groupScales(model, narrowSpec(specFull, 8));
      expect(new Set(groups.map((g) => g.bn)).size).toBe(bns);
      model.dispose();
      expect(fullWidthChannels(specFull)).toBe(channels);
    }
  });

  it('refuses a model without BN after its convs, naming the layers', () => {
    const noBn: ArchSpec = { ...namedSpec('vgg11-imagenet'), batchNorm: false } as ArchSpec;
    const narrow = narrowSpec(noBn, 16);
    const model = buildModel(narrow, 0);
    expect(() => groupScales(model, narrow)).toThrow(NoBatchNormError);
    expect(() => groupScales(model, narrow)).toThrow(/features\.0\.conv, features\.1\.conv, features\.2\.conv and 7 more have no BN/);
    model.dispose();
  });
});

/** Channels of all the BNs the threshold reads at full width, counted from the spec (no model built). */
function fullWidthChannels(spec: ArchSpec): number {
  return channelGroups(spec).filter((g) => g.specIndex >= 0).reduce((sum, g) => sum + g.size, 0);
}
