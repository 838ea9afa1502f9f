import { experimentRecipes, PROFILES } from '@rethink-prune/core';
import { describe, expect, it } from 'vitest';
import { sssImagenetRecipes } from './method';

describe("the SSS README's ImageNet recipes", () => {
  const recipes = sssImagenetRecipes(experimentRecipes(PROFILES.paper, 'imagenet'), PROFILES.paper);

  it('Scratch-E: 100 epochs, LR ÷10 at 30, 60, 90', () => {
    expect([recipes.baseline.epochs, recipes.baseline.milestones, recipes.baseline.lr]).toEqual([100, [30, 60, 90], 0.1]);
  });

  it('Scratch-B: 117 / 145 / 179 epochs with steps [35, 70, 105] / [43, 86, 129] / [53, 106, 159]', () => {
    // The FLOPs ratios of ResNet-41/32/26 to the pre-activation ResNet-50 (method-facts §7.1): 1.178, 1.451, 1.795.
    const cases: Array<[number, number, number[]]> = [[1.178, 117, [35, 70, 105]], [1.451, 145, [43, 86, 129]],
      [1.795, 179, [53, 106, 159]]];
    for (const [ratio, epochs, milestones] of cases) {
      const recipe = recipes.scratchB(ratio * 1e9, 1e9);
      expect([recipe.epochs, recipe.milestones], String(ratio)).toEqual([epochs, milestones]);
    }
  });
});
