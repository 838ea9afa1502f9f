import { checkGrid, countSpec, experimentRecipes, namedSpec, PROFILES } from '@rethink-prune/core';
import { describe, expect, it } from 'vitest';
import { sssImagenetRecipes, sssMethod } from './method';

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

describe('Table 5 as experiments: ResNet-41/32/26 from scratch against the pre-activation ResNet-50', () => {
  it('are the ImageNet grid, refuse CIFAR-size data, and get 117 / 145 / 179 Scratch-B epochs from our FLOPs', () => {
    const grid = sssMethod.defaultVariants(PROFILES.paper, 'imagenet');
    expect(grid).toEqual(['resnet41', 'resnet32', 'resnet26']);
    expect(() => checkGrid(sssMethod, { variants: grid, dataset: 'imagenet', profile: PROFILES.paper })).not.toThrow();
    expect(() => checkGrid(sssMethod, { variants: ['resnet41'], dataset: 'cifar10', profile: PROFILES.paper }))
      .toThrow(/ImageNet experiment/);
    const recipes = sssMethod.recipes!(experimentRecipes(PROFILES.paper, 'imagenet'), PROFILES.paper, 'imagenet',
      sssMethod.variants.resnet41);
    const full = countSpec(namedSpec('preresnet50-imagenet', 'imagenet')).flops;
    const epochs = grid.map((name) => recipes.scratchB(full, countSpec(sssMethod.variants[name].architecture!).flops).epochs);
    expect(epochs).toEqual([117, 145, 179]);
  });
});
