import { describe, expect, it } from 'vitest';
import { cifarRecipe, fineTuneRecipe, imagenetRecipe, learningRate, scratchBEpochs } from './recipe';

describe('recipes', () => {
  it('CIFAR: 0.1, ÷10 at epochs 80 and 120 of 160', () => {
    const r = cifarRecipe();
    expect([0, 79, 80, 119, 120, 159].map((e) => learningRate(r, e))).toEqual([0.1, 0.1, 0.1 * 0.1, 0.1 * 0.1, 0.1 * 0.1 * 0.1, 0.1 * 0.1 * 0.1]);
    expect([r.batchSize, r.momentum, r.weightDecay]).toEqual([64, 0.9, 1e-4]);
  });

  it('fine-tune: 40 epochs at a constant 0.001; ImageNet: ÷10 at 30 and 60 of 90, batch 256', () => {
    expect(learningRate(fineTuneRecipe(), 39)).toBe(0.001);
    expect(imagenetRecipe().milestones).toEqual([30, 60]);
    expect(imagenetRecipe().batchSize).toBe(256);
  });

  it('Scratch-B: int(epochs × FLOPs ratio), as main_B.py', () => {
    expect(scratchBEpochs(160, 3.13e8, 2.06e8)).toBe(243);
    expect(scratchBEpochs(160, 1, 1)).toBe(160);
    expect(() => scratchBEpochs(160, 1, 0)).toThrow(/positive/);
  });

  it('per-milestone factors (SFP: --schedule 1 60 120 160 --gammas 10 0.2 0.2 0.2 from 0.01)', () => {
    const sfp = { ...cifarRecipe(200), lr: 0.01, milestones: [1, 60, 120, 160], gammas: [10, 0.2, 0.2, 0.2] };
    // method-facts §2.4: 0.01 (epoch 0), 0.1 (1–59), 0.02 (60–119), 0.004 (120–159), 0.0008 (160–199).
    const expected: Array<[number, number]> = [[0, 0.01], [1, 0.1], [59, 0.1], [60, 0.02], [119, 0.02], [120, 0.004],
      [160, 0.0008], [199, 0.0008]];
    for (const [epoch, lr] of expected) expect(learningRate(sfp, epoch)).toBeCloseTo(lr, 10);
  });
});
