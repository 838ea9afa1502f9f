import { checkGrid, experimentRecipes, PROFILES } from '@rethink-prune/core';
import { describe, expect, it } from 'vitest';
import { THINET_ARCHITECTURES } from './architectures';
import { thinetMethod } from './method';

describe('Table 2 as experiments: the published ThiNet architectures against their references', () => {
  const recipesOf = (name: string) => {
    const variant = thinetMethod.variants[name];
    return thinetMethod.recipes!(experimentRecipes(PROFILES.paper, 'imagenet'), PROFILES.paper, 'imagenet', variant);
  };

  it('are the ImageNet grid, and refuse CIFAR-size data', () => {
    const imagenet = thinetMethod.defaultVariants(PROFILES.paper, 'imagenet');
    expect(imagenet).toEqual(['thinet-conv', 'thinet-gap', 'thinet-tiny', 'thinet-30', 'thinet-50', 'thinet-70']);
    expect(() => checkGrid(thinetMethod, { variants: imagenet, dataset: 'imagenet', profile: PROFILES.paper })).not.toThrow();
    expect(() => checkGrid(thinetMethod, { variants: ['thinet-30'], dataset: 'cifar10', profile: PROFILES.paper }))
      .toThrow(/ImageNet experiment/);
    for (const name of imagenet) expect(thinetMethod.variants[name].architecture).toBe(THINET_ARCHITECTURES[name as 'thinet-30']);
  });

  it('train with the seed\'s recipes: VGG at LR 0.01, ResNet at 0.1; Scratch-B 180 epochs (step 60), ThiNet-70 141', () => {
    // imagenet/thinet/README.md: `--lr 0.01` for the VGG models; main_B.py: E = 180 if r ≥ 2, else int(90 · r).
    const expected: Record<string, { lr: number; epochs: number }> = {
      'thinet-conv': { lr: 0.01, epochs: 180 }, 'thinet-gap': { lr: 0.01, epochs: 180 },
      'thinet-tiny': { lr: 0.01, epochs: 180 }, 'thinet-30': { lr: 0.1, epochs: 180 },
      'thinet-50': { lr: 0.1, epochs: 180 }, 'thinet-70': { lr: 0.1, epochs: 141 },
    };
    // FLOPs as the seed's compute_flops.py prints them (architectures.test.ts checks countSpec against these).
    const seedFlops: Record<string, number> = {
      vgg16: 30_973_761_536, resnet50: 8_213_618_176, 'thinet-conv': 9_599_388_672, 'thinet-gap': 9_353_028_608,
      'thinet-tiny': 2_017_487_872, 'thinet-30': 2_360_886_016, 'thinet-50': 3_674_383_616, 'thinet-70': 5_235_006_976,
    };
    for (const [name, { lr, epochs }] of Object.entries(expected)) {
      const recipes = recipesOf(name);
      const [full, pruned] = [seedFlops[/\d$/.test(name) ? 'resnet50' : 'vgg16'], seedFlops[name]];
      expect([recipes.baseline.lr, recipes.baseline.epochs], name).toEqual([lr, 90]);
      const scratchB = recipes.scratchB(full, pruned);
      expect([scratchB.lr, scratchB.epochs], name).toEqual([lr, epochs]);
    }
  });
});
