import * as path from 'path';
import {
  imagenetProportionalRecipes, magnitudeMasks, readReference, sparseScratchInit, type MethodDefinition,
} from '@rethink-prune/core';
import { parsePercent, tableVariants, WEIGHT_LEVEL_VARIANTS, type WeightLevelVariant } from './variants';

/**
 * Weight-level magnitude pruning (Han et al., 2015) on the experiment framework: masks from one global
 * threshold over all conv weights, kept at zero through every later stage by core (the seed masks the
 * gradients); scratch runs re-draw the surviving weights with the seed's sparse fan; Scratch-B's budget counts
 * non-zero conv weights, as the seed's count_flops.py.
 */
export const weightLevelMethod: MethodDefinition<WeightLevelVariant> = {
  name: 'weight-level',
  command: 'prune-weight-level',
  package: '@rethink-prune/method-weight-level',
  title: 'Weight-level magnitude pruning (Han et al., 2015)',
  variants: WEIGHT_LEVEL_VARIANTS,
  // quick and smoke run VGG-19 at the dataset's higher ratio: PreResNet-110 and DenseNet-100 cost many times more
  // per image on a CPU (`--models` adds them, or sweeps: vgg19-30,vgg19-50,…,vgg19-95).
  defaultVariants: (profile, dataset) =>
    profile.fullGrid || dataset === 'imagenet' ? tableVariants(dataset) : [tableVariants(dataset)[1]],
  pruner: { kind: 'unstructured', version: 'magnitude 1', masks: ({ model, variant }) => magnitudeMasks(model, variant.percent) },
  initScratch: sparseScratchInit,
  // ImageNet: main_finetune.py's 10 fine-tuning epochs, main_B.py's int(90 × ratio) Scratch-B epochs.
  recipes: (defaults, profile, dataset) =>
    (dataset === 'imagenet' ? imagenetProportionalRecipes(defaults, profile, 10) : defaults),
  pruneOption: {
    name: 'percent',
    value: 'p',
    help: 'prune the share p (0 < p < 1) of all conv weights of any saved model, by magnitude',
    variant: (value) => ({ percent: parsePercent(value) }),
  },
  reference: readReference(path.join(__dirname, '..', 'reference.json')),
};
