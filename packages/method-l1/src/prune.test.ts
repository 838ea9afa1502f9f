import * as tf from '@tensorflow/tfjs';
import { buildModel, channelGroups, countSpec, initBackend, namedSpec, shutdownBackend, type ResNetSpec, type VggSpec } from '@rethink-prune/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { filterL1Norms, largest, pruneByL1Norm } from './prune';
import { l1Variant, targetWidths, type ResNetTarget } from './variants';

beforeAll(async () => { await initBackend('cpu'); });
afterAll(() => shutdownBackend());

describe('L1 ranking', () => {
  it('scores each filter by the sum of |w| over kh, kw and input channels, and keeps the largest', () => {
    // 1×1 kernel, 2 inputs, 4 filters: |w| sums are 3, 0.5, 7, 3.5.
    const kernel = tf.tensor4d([[[[1, 0.5, -3, 3], [-2, 0, 4, 0.5]]]]);
    expect(Array.from(filterL1Norms(kernel))).toEqual([3, 0.5, 7, 3.5]);
    expect(largest(filterL1Norms(kernel), 2)).toEqual([2, 3]);
    expect(largest(filterL1Norms(kernel), 3)).toEqual([0, 2, 3]);
    expect(() => largest([1, 2], 0)).toThrow(/cannot keep 0 of 2/);
  });

  it('prunes the smallest filters of a trained-looking conv and their input slices downstream', () => {
    const spec = namedSpec('vgg16');
    const model = buildModel(spec, 3);
    const conv0 = model.getLayer('features.0.conv');
    const w = conv0.getWeights()[0];
    // Make filters 5 and 9 the two largest by far.
    const boosted = tf.tidy(() => w.mul(tf.oneHot([5], 64).add(tf.oneHot([9], 64)).mul(100).add(1)));
    conv0.setWeights([boosted]);
    const widths = new Map([['features.0.conv', 2]]);
    const { keep, model: pruned } = pruneByL1Norm(model, spec, widths);
    expect(keep['features.0.conv']).toEqual([5, 9]);
    expect(pruned.getLayer('features.1.conv').getWeights()[0].shape).toEqual([3, 3, 2, 64]);
  });
});

/** Conv multiply-adds of a CIFAR ResNet spec on 32×32 input: what Li et al. report as FLOPs. */
function resnetConvMacs(spec: ResNetSpec): number {
  const n = (spec.depth - 2) / 6;
  const widths = [16, 32, 64];
  const maps = [32, 16, 8];
  let macs = 3 * 16 * 9 * 32 * 32;
  let inplanes = 16;
  for (let s = 0; s < 3; s++) {
    for (let b = 0; b < n; b++) {
      const inner = spec.cfg[s * n + b];
      macs += (inplanes * inner * 9 + inner * widths[s] * 9) * maps[s] * maps[s];
      inplanes = widths[s];
    }
  }
  return macs;
}

describe('the seed\'s pruned architectures', () => {
  it('VGG-16-A: the cfg of vggprune.py, 5.4M parameters, 34.2% fewer FLOPs', () => {
    const spec = namedSpec('vgg16') as VggSpec;
    const model = buildModel(spec, 1);
    const { spec: pruned } = pruneByL1Norm(model, spec, targetWidths(spec, l1Variant('vgg16-A')));
    expect((pruned as VggSpec).cfg).toEqual([32, 64, 'M', 128, 128, 'M', 256, 256, 256, 'M', 256, 256, 256, 'M', 256, 256, 256]);
    const [full, small] = [countSpec(spec), countSpec(pruned)];
    expect(small.params / 1e6).toBeCloseTo(5.4, 1); // Li et al., Table 1
    expect(100 * (1 - small.flops / full.flops)).toBeCloseTo(34.2, 0);
  });

  it.each([
    // Li et al., Table 1: ResNet-56-pruned-A 1.12e8 FLOPs (10.4% fewer), -B 9.09e7 (27.6% fewer).
    ['resnet56-A', 1.12e8],
    ['resnet56-B', 9.09e7],
  ] as const)('%s: per-block widths from the skip list and stage ratios; conv FLOPs %d', (name, macs) => {
    const spec = namedSpec('resnet56') as ResNetSpec;
    const model = buildModel(spec, 1);
    const { spec: pruned } = pruneByL1Norm(model, spec, targetWidths(spec, l1Variant(name)));
    const cfg = (pruned as ResNetSpec).cfg;
    const { skip, ratios } = l1Variant(name) as ResNetTarget;
    cfg.forEach((w, k) => {
      const s = Math.floor(k / 9);
      const full = [16, 32, 64][s];
      expect(w).toBe(skip.includes(2 + 2 * k) ? full : Math.floor(full * (1 - ratios[s])));
    });
    expect(resnetConvMacs(pruned as ResNetSpec) / macs).toBeCloseTo(1, 2);
    expect(channelGroups(pruned).map((g) => g.size)).toEqual(cfg);
  });

  it('ResNet-110-A keeps stages 2 and 3 whole and halves stage 1 except layer 36', () => {
    const spec = namedSpec('resnet110') as ResNetSpec;
    const widths = [...targetWidths(spec, l1Variant('resnet110-A')).values()];
    expect(widths.slice(0, 18)).toEqual([...new Array(17).fill(8), 16]);
    expect(widths.slice(18)).toEqual([...new Array(18).fill(32), ...new Array(18).fill(64)]);
  });

  it.each([
    // Li et al., Table 1 (ImageNet): ResNet-34-pruned-A 15.5% and -B 24.2% fewer FLOPs.
    ['resnet34-A', [0.3, 0.3, 0.3, 0.0], 15.5],
    ['resnet34-B', [0.5, 0.6, 0.4, 0.0], 24.2],
  ] as const)('%s (ImageNet): stage ratios on the first conv of each block, skip list kept; FLOPs cut as Li et al.', (name, ratios, reduction) => {
    const spec = namedSpec('resnet34-imagenet');
    const widths = [...targetWidths(spec, l1Variant(name)).values()];
    const stageOf = [0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 2, 2, 3, 3, 3];
    const skipped = [0, 3, 6, 7, 12, 13, 14, 15]; // layer ids 2, 8, 14, 16, 26, 28, 30, 32 → blocks (id-2)/2
    expect(widths).toEqual(stageOf.map((s, k) => (skipped.includes(k) ? [64, 128, 256, 512][s] : Math.floor([64, 128, 256, 512][s] * (1 - ratios[s])))));
    const pruned = { ...spec, cfg: widths } as typeof spec;
    const [full, small] = [countSpec(spec), countSpec(pruned)];
    expect(Math.abs(100 * (1 - small.flops / full.flops) - reduction)).toBeLessThan(1.5);
  });
});
