import * as path from 'path';
import { readReference, scaleTargets, type MethodDefinition } from '@rethink-prune/core';
import { l1KeepSets } from './prune';
import { L1_VARIANTS, targetWidths, type L1Variant } from './variants';

/** The paper's L1 grid (Table 1): CIFAR rows, ImageNet rows, and the default subset of each profile. */
export const CIFAR_VARIANTS = ['vgg16-A', 'resnet56-A', 'resnet56-B', 'resnet110-A', 'resnet110-B'];
export const IMAGENET_VARIANTS = ['resnet34-A', 'resnet34-B'];

/**
 * L1-norm filter pruning (Li et al., ICLR 2017) on the experiment framework: targets are the seed's, computed
 * on the full-width model and scaled to the model pruned; the criterion keeps the filters of largest L1 norm.
 */
export const l1Method: MethodDefinition<L1Variant> = {
  name: 'l1-norm',
  command: 'prune-l1',
  package: '@rethink-prune/method-l1',
  title: 'L1-norm filter pruning (Li et al., 2017)',
  variants: L1_VARIANTS,
  // A run of a few epochs (quick, smoke) trains VGG-16-A alone: the ÷4 ResNet-56 costs as much per image on a CPU and
  // would push the README's main command past 10 minutes (`--models vgg16-A,resnet56-B` adds it); a run long enough to
  // converge (small) adds ResNet-56-B.
  defaultVariants: (profile, dataset) =>
    dataset === 'imagenet'
      ? IMAGENET_VARIANTS
      : profile.fullGrid
        ? CIFAR_VARIANTS
        : profile.epochs < 10
          ? ['vgg16-A']
          : ['vgg16-A', 'resnet56-B'],
  pruner: {
    kind: 'structured',
    version: 'l1-norm 2',
    keepSets: ({ model, spec, fullSpec, variant }) =>
      l1KeepSets(model, spec, scaleTargets(targetWidths(fullSpec, variant), fullSpec, spec)),
  },
  reference: readReference(path.join(__dirname, '..', 'reference.json')),
};
