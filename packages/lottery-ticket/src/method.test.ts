import {
  applyMasks, buildModel, initBackend, namedSpec, narrowSpec, shutdownBackend, type MaskSet,
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
