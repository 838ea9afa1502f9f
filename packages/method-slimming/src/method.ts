import * as path from 'path';
import { imagenetProportionalRecipes, readReference, type MethodDefinition } from '@rethink-prune/core';
import { sparsityTraining } from './sparsity';
import { groupScales, slimmingKeepSets } from './threshold';
import { parsePercent, SLIMMING_VARIANTS, tableVariants, type SlimmingVariant } from './variants';

/**
 * Network Slimming (Liu et al., ICCV 2017) on the experiment framework: the baseline is trained with an L1 term
 * on every BN γ, one global threshold over all |γ| picks the channels, and core's surgery (or the channel
 * selections of PreResNet and DenseNet) removes the rest.
 */
export const slimmingMethod: MethodDefinition<SlimmingVariant> = {
  name: 'network-slimming',
  command: 'prune-slimming',
  package: '@rethink-prune/method-slimming',
  title: 'Network Slimming (Liu et al., 2017)',
  variants: SLIMMING_VARIANTS,
  // quick and smoke run the VGG-19 row of the dataset: the ÷4 PreResNet-164 and DenseNet-40 cost many times
  // more per image on a CPU (`--models` adds them).
  defaultVariants: (profile, dataset) =>
    profile.fullGrid || dataset === 'imagenet' ? tableVariants(dataset) : tableVariants(dataset).slice(0, 1),
  pruner: {
    kind: 'structured',
    version: 'slimming 1',
    keepSets: ({ model, spec, variant }) => {
      const { keep, threshold, total, removed, emptied } = slimmingKeepSets(groupScales(model, spec), variant.percent);
      const share = ((100 * removed) / total).toFixed(1);
      process.stderr.write(`network-slimming: |γ| ≤ ${threshold.toPrecision(4)} removes ${removed} of ${total} BN ` +
        `channels (${share}%; asked ${100 * variant.percent}%, ties with the threshold go too)\n`);
      if (emptied.length > 0) {
        process.stderr.write(`network-slimming: every |γ| of ${emptied.length} layer(s) is ≤ the threshold ` +
          `(${emptied.slice(0, 4).join(', ')}${emptied.length > 4 ? ', …' : ''}); each keeps its largest channel ` +
          '(the seed would fail here)\n');
      }
      return keep;
    },
  },
  training: (stage, variant) => (stage === 'baseline' ? sparsityTraining(variant.sparsity) : undefined),
  plainBaseline: true,
  // ImageNet: main_finetune.py's 5 fine-tuning epochs, main_B.py's int(90 × ratio) Scratch-B epochs.
  recipes: (defaults, profile, dataset) =>
    (dataset === 'imagenet' ? imagenetProportionalRecipes(defaults, profile, 5) : defaults),
  pruneOption: {
    name: 'percent',
    value: 'p',
    help: 'prune the share p (0 < p < 1) of all BN channels of any model with a BN after every conv',
    variant: (value) => ({ percent: parsePercent(value), sparsity: 0 }),
  },
  reference: readReference(path.join(__dirname, '..', 'reference.json')),
};
