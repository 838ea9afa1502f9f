import {
  buildModel,
  channelGroups,
  countSpec,
  pruneModel,
  type ResNetSpec,
  initBackend,
  namedSpec,
  narrowSpec,
  PROFILES,
  scaleTargets,
  shutdownBackend,
  withWidths,
  type ArchSpec,
} from '@rethink-prune/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CIFAR_VARIANTS, IMAGENET_VARIANTS, l1Method } from './method';
import { l1Variant, targetWidths } from './variants';

beforeAll(async () => {
  await initBackend('cpu');
});
afterAll(() => shutdownBackend());

const reduction = (full: ArchSpec, pruned: ArchSpec) =>
  100 * (1 - countSpec(pruned).flops / countSpec(full).flops);

describe("quick variants prune the same fraction as the paper's", () => {
  it('ResNet-56-B at full width removes 27.5% of the FLOPs (Li et al., Table 1: 27.6%)', () => {
    const full = namedSpec('resnet56');
    const pruned = withWidths(full, targetWidths(full, l1Variant('resnet56-B')));
    expect(reduction(full, pruned)).toBeCloseTo(27.5, 0);
  });

  it.each(CIFAR_VARIANTS)("%s: the quick (÷4) copy's FLOPs cut is within 2 points of full width", (name) => {
    const variant = l1Variant(name);
    const full = namedSpec(variant.base, 'cifar10');
    const fullTargets = targetWidths(full, variant);
    const quick = narrowSpec(full, PROFILES.quick.widthDivisor);
    const fullCut = reduction(full, withWidths(full, fullTargets));
    const quickCut = reduction(quick, withWidths(quick, scaleTargets(fullTargets, full, quick)));
    expect(fullCut).toBeGreaterThan(5);
    expect(Math.abs(quickCut - fullCut)).toBeLessThan(2);
  });
});

describe('quick ImageNet variants keep the same share of channels', () => {
  // Their FLOPs cut is smaller at ÷4 (ResNet-34-B: 21.9% against 24.2%): the 7×7 stem on 3 input channels, which
  // L1 never prunes, shrinks 4× where every other conv shrinks 16×, so it weighs 4× more in the narrow copy.
  it.each(IMAGENET_VARIANTS)('%s: kept inner channels, ÷4, within 1%% of full width', (name) => {
    const variant = l1Variant(name);
    const full = namedSpec(variant.base, 'imagenet');
    const quick = narrowSpec(full, PROFILES.quick.widthDivisor);
    const fullTargets = targetWidths(full, variant);
    const share = (targets: Map<string, number>, spec: ArchSpec) =>
      [...targets.values()].reduce((a, w) => a + w, 0) / channelGroups(spec).reduce((a, g) => a + g.size, 0);
    expect(share(scaleTargets(fullTargets, full, quick), quick)).toBeCloseTo(share(fullTargets, full), 2);
  });
});

describe('prune-l1 prune on a model trained by the quick profile', () => {
  it("ResNet-56-B on a ÷4 ResNet-56 keeps the seed's fractions, rounded over the running total", async () => {
    const quick = narrowSpec(namedSpec('resnet56'), 4);
    const model = buildModel(quick, 0);
    const pruned = await pruneModel(l1Method, 'resnet56-B', model, quick, namedSpec('resnet56'));
    // By hand: stage 1 keeps 6/16 of 4 = 1.5 per pruned block (skips 16, 18 keep 4), stage 2 keeps 22/32 of 8 = 5.5
    // (skips 20, 34 keep 8), stage 3 keeps 57/64 of 16 = 14.25 (skips 38, 54 keep 16); each block takes
    // round(running exact total) − what earlier blocks took.
    expect((pruned.spec as ResNetSpec).cfg).toEqual([
      2, 1, 2, 1, 2, 1, 2, 4, 4, 8, 5, 6, 5, 6, 5, 6, 8, 5, 16, 14, 15, 14, 14, 14, 15, 14, 16,
    ]);
    model.dispose();
    pruned.model.dispose();
  });

  it('refuses a model of another architecture', async () => {
    const spec = namedSpec('resnet20');
    const model = buildModel(spec, 0);
    await expect(pruneModel(l1Method, 'resnet56-B', model, spec, namedSpec('resnet56'))).rejects.toThrow(
      /variant expects a resnet56 spec|not a copy/,
    );
    model.dispose();
  });
});
