import {
  applyMasks, buildModel, convKernels, countSpec, initBackend, namedSpec, narrowSpec, shutdownBackend, type MaskSet,
} from '@rethink-prune/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { lotteryMethod } from './method';
import { TICKET_VARIANTS } from './variants';

beforeAll(async () => { await initBackend('cpu'); });
afterAll(() => shutdownBackend());

/** Filters a mask keeps per conv (a filter is kept when any of its weights is). */
function keptFilters(masks: MaskSet): Record<string, number> {
  return Object.fromEntries([...masks].map(([name, mask]) => {
    const filters = mask.shape[3] as number;
    const values = mask.dataSync();
    const kept = new Set<number>();
    values.forEach((v, i) => { if (v === 1) kept.add(i % filters); });
    return [name.replace('/kernel', ''), kept.size];
  }));
}

describe('structured iterative tickets (vgg16-A-iterative)', () => {
  // VGG-16-A at full width: conv 0 keeps 32 of 64, convs 7–12 keep 256 of 512 (Li et al.); ÷8: 4 of 8, 32 of 64.
  const fullSpec = namedSpec('vgg16');
  const spec = narrowSpec(fullSpec, 8);
  const variant = TICKET_VARIANTS['vgg16-A-iterative'];
  const prune = (model: ReturnType<typeof buildModel>, round: number, previous?: MaskSet) => {
    const pruner = lotteryMethod.prunerOf!(variant);
    if (pruner.kind !== 'unstructured') throw new Error('the mask form prunes by masks');
    return pruner.masks({ model, spec, fullSpec, variant, variantName: 'vgg16-A-iterative', round, rounds: 2,
      ...(previous ? { previous } : {}) });
  };

  it('round 1 of 2 goes halfway (64 → 48, 512 → 384 at full width), round 2 reaches VGG-16-A, nested', () => {
    const model = buildModel(spec, 3);
    const first = prune(model, 1);
    const firstKept = keptFilters(first);
    expect(firstKept['features.0.conv']).toBe(6);
    for (let k = 7; k <= 12; k++) expect(firstKept[`features.${k}.conv`]).toBe(48);
    expect(firstKept['features.1.conv']).toBe(8); // not pruned by VGG-16-A: all 8 filters
    applyMasks(model, first); // the trained ticket of round 1 holds zeros where round 1 pruned
    const second = prune(model, 2, first);
    const secondKept = keptFilters(second);
    expect(secondKept['features.0.conv']).toBe(4);
    for (let k = 7; k <= 12; k++) expect(secondKept[`features.${k}.conv`]).toBe(32);
    for (const [name, mask] of second) {
      const [before, after] = [first.get(name)!.dataSync(), mask.dataSync()];
      expect(before.every((v, i) => v === 1 || after[i] === 0), name).toBe(true);
    }
    model.dispose();
  });

  it('is iterative: each round after the first prunes the previous round\'s ticket', () => {
    expect(lotteryMethod.iterate!(variant)).toBe(true);
    expect(lotteryMethod.iterate!(TICKET_VARIANTS['vgg16-A'])).toBe(false);
    expect(lotteryMethod.rounds!(variant, { ...namedSpecProfile(), epochs: 4 })).toBe(3);
    expect(lotteryMethod.rounds!(TICKET_VARIANTS['vgg16-A'], { ...namedSpecProfile(), epochs: 4 }, 5)).toBe(1);
  });
});

/** A quick-like profile for the round defaults. */
function namedSpecProfile() {
  return { name: 'quick' as const, epochs: 4, finetuneEpochs: 1, widthDivisor: 4, batchSize: 64,
    imagenet: { epochs: 2, finetuneEpochs: 1, batchSize: 32 } };
}

describe('the lottery folder\'s CIFAR ResNet-50 (resnet50-lottery)', () => {
  it('has 8 basic blocks per stage and 1×1 conv + BN shortcuts: 758 554 parameters, counted by hand', () => {
    // conv1 432 + bn 32; stage 1: 8 · (2 · 2 304 + 64) = 37 376; stage 2: block 0 4 608 + 9 216 + 128 + 512 + 64 and
    // 7 · (2 · 9 216 + 128) = 144 448; stage 3: block 0 18 432 + 36 864 + 256 + 2 048 + 128 and 7 · (2 · 36 864 + 256)
    // = 575 616; fc 650.
    const spec = namedSpec(TICKET_VARIANTS['resnet50-iterative'].base);
    expect(countSpec(spec).params).toBe(758_554);
    const model = buildModel(spec, 1);
    expect(model.getLayer('layer2.0.shortcut').getWeights()[0].shape).toEqual([1, 1, 16, 32]);
    expect(model.getLayer('layer2.0.shortcut').trainable).toBe(true);
    expect(model.layers.filter((layer) => layer.name.endsWith('.conv1'))).toHaveLength(24);
    // Unstructured pruning reaches the shortcut convs too, as cifar_prune_iterative.py prunes every Conv2d.
    expect(convKernels(model).map(([name]) => name)).toContain('layer3.0.shortcut/kernel');
    model.dispose();
  });
});

describe('the lottery folder\'s PreResNet (preresnet110-lottery)', () => {
  it('has 18 bottlenecks per stage as its preresnet.py counts (depth − 2) / 6: the seed\'s 1 703 258 parameters', () => {
    // Printed by the seed's file itself: models/cifar/preresnet.py, preresnet(depth=110, num_classes=10), torch 1.13,
    // sum of p.numel() over its parameters (166 convs); the same file at depth 56: 868 634.
    const spec = namedSpec(TICKET_VARIANTS['preresnet110-iterative'].base);
    expect(countSpec(spec).params).toBe(1_703_258);
    expect(countSpec(namedSpec('preresnet56-lottery')).params).toBe(868_634);
    const model = buildModel(spec, 1);
    expect(model.layers.filter((layer) => layer.getClassName() === 'Conv2D')).toHaveLength(166);
    model.dispose();
    expect(() => namedSpec('preresnet20-lottery')).toThrow(/unknown model/);
  });
});
