import type { Profile } from '../profiles';
import {
  cifarRecipe,
  fineTuneRecipe,
  imagenetRecipe,
  imagenetScratchBRecipe,
  scratchBEpochs,
} from '../train/recipe';
import type { StageRecipes } from './method';

/**
 * The seed's recipes, scaled by the profile: CIFAR (baseline 160 epochs, fine-tune 40, Scratch-B steps at
 * 50%/75%) or ImageNet (90, 20, and main_B.py's schedule). Scratch-B depends on the FLOPs of both models.
 */
export function experimentRecipes(profile: Profile, dataset: string): StageRecipes {
  if (dataset === 'imagenet') {
    const p = profile.imagenet;
    return {
      baseline: { ...imagenetRecipe(p.epochs), batchSize: p.batchSize },
      finetune: { ...fineTuneRecipe(p.finetuneEpochs), batchSize: p.batchSize },
      scratchB: (full, pruned) => ({
        ...imagenetScratchBRecipe(p.epochs, full, pruned),
        batchSize: p.batchSize,
      }),
    };
  }
  const withProfile = { batchSize: profile.batchSize, ...(profile.lr ? { lr: profile.lr } : {}) };
  return {
    baseline: { ...cifarRecipe(profile.epochs), ...withProfile },
    finetune: { ...fineTuneRecipe(profile.finetuneEpochs), batchSize: profile.batchSize },
    scratchB: (full, pruned) => ({
      ...cifarRecipe(scratchBEpochs(profile.epochs, full, pruned)),
      ...withProfile,
    }),
  };
}

/**
 * The ImageNet recipes of the slimming and weight-level folders (their main_finetune.py and main_B.py):
 * fine-tuning for the seed's `finetuneEpochs` (a shorter profile keeps its own), and Scratch-B
 * int(epochs × FLOPs ratio) epochs with the LR ÷10 every third of them (no doubling cap, unlike the L1 folder's).
 */
export function imagenetProportionalRecipes(defaults: StageRecipes, profile: Profile, finetuneEpochs: number): StageRecipes {
  const epochs = profile.imagenet.epochs;
  return {
    baseline: defaults.baseline,
    finetune: { ...defaults.finetune, epochs: Math.min(finetuneEpochs, profile.imagenet.finetuneEpochs) },
    scratchB: (full, pruned) => {
      const budget = Math.floor((epochs * full) / pruned);
      return { ...imagenetRecipe(budget, Math.floor(budget / 3)), batchSize: defaults.baseline.batchSize };
    },
  };
}

/**
 * The recipes with another initial LR for the baseline and Scratch-B runs (the seed's BN-free ImageNet VGGs of the
 * ThiNet and regression folders train at 0.01: `--lr 0.01` in their READMEs); fine-tuning keeps its own.
 */
export function withInitialLr(recipes: StageRecipes, lr: number): StageRecipes {
  return {
    baseline: { ...recipes.baseline, lr },
    finetune: recipes.finetune,
    scratchB: (full, pruned) => ({ ...recipes.scratchB(full, pruned), lr }),
  };
}
