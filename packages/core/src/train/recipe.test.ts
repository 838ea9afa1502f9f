import { describe, expect, it } from 'vitest';
import {
  cifarRecipe, fineTuneRecipe, imagenetRecipe, imagenetScratchBRecipe, learningRate, scratchBEpochs, sharedEpochs,
} from './recipe';

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

  it('shared epochs: Scratch-E and Scratch-B train alike until the first LR step that differs', () => {
    // 40 epochs step at 20 and 30, 55 at 27 and 41: both at the base LR until epoch 20.
    expect(sharedEpochs(cifarRecipe(40), cifarRecipe(55))).toBe(20);
    expect(sharedEpochs(cifarRecipe(160), cifarRecipe(243))).toBe(80);
    expect(sharedEpochs(cifarRecipe(40), cifarRecipe(40))).toBe(40);
    // Same steps, another factor: alike until the first step.
    expect(sharedEpochs(cifarRecipe(40), { ...cifarRecipe(40), gamma: 0.2 })).toBe(20);
    // ImageNet: 90 epochs step every 30; Scratch-B at twice the FLOPs 180 epochs stepping every 60.
    expect(sharedEpochs(imagenetRecipe(90), imagenetScratchBRecipe(90, 2, 1))).toBe(30);
    // Anything else different: nothing shared.
    expect(sharedEpochs(cifarRecipe(40), { ...cifarRecipe(55), batchSize: 128 })).toBe(0);
    expect(sharedEpochs(cifarRecipe(40), { ...cifarRecipe(55), lr: 0.05 })).toBe(0);
    expect(sharedEpochs(cifarRecipe(40), { ...cifarRecipe(55), weightDecay: 5e-4 })).toBe(0);
    expect(sharedEpochs(cifarRecipe(40), { ...cifarRecipe(55), nesterov: true })).toBe(0);
    expect(sharedEpochs(cifarRecipe(40), fineTuneRecipe(10))).toBe(0);
  });
});
