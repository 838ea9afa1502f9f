import * as path from 'path';
import {
  cifarRecipe, countSpec, readReference, sparseScratchInit, type MethodDefinition, type Profile, type Recipe,
  type StageRecipes,
} from '@rethink-prune/core';
import { compactModel } from './compact';
import { softPruneMasks, softPruneTraining } from './soft-prune';
import { parseRate, SFP_VARIANTS, type SfpVariant } from './variants';

/** SFP's optimiser in every script: SGD with Nesterov momentum 0.9 and weight decay 5e-4. */
const SFP_OPTIMISER = { momentum: 0.9, nesterov: true, weightDecay: 5e-4 };

/**
 * The seed's SFP schedule (README: `--epochs 200 --schedule 1 60 120 160 --gammas 10 0.2 0.2 0.2`, batch 128):
 * the LR starts at `base` for one epoch, is ×10 from epoch 1, then ×0.2 at 60, 120 and 160. Scratch-B
 * (`pruning_resnet_longer_scratch.py`) stretches the three decays by the FLOPs ratio r over int(400·r) epochs.
 */
export function sfpRecipe(epochs: number, base: number, stretch = 1): Recipe {
  const milestones = [1, ...[60, 120, 160].map((m) => Math.floor(m * stretch))];
  return { epochs, batchSize: 128, lr: base, milestones, gamma: 1, gammas: [10, 0.2, 0.2, 0.2], ...SFP_OPTIMISER };
}

/**
 * `paper`: the seed's scripts (baseline `pruning_cifar10_pretrain.py` and Scratch-E at base LR 0.01; Scratch-B
 * int(400·r) epochs). Narrow profiles have too few epochs for that schedule: they keep the profile's CIFAR
 * recipe with SFP's optimiser, and Scratch-B's int(2·E·r) epochs.
 */
function sfpRecipes(defaults: StageRecipes, profile: Profile): StageRecipes {
  if (profile.seedRecipes) {
    return {
      baseline: sfpRecipe(200, 0.01),
      finetune: defaults.finetune,
      scratchB: (full, pruned) => sfpRecipe(Math.floor(400 * (full / pruned)), 0.01, full / pruned),
    };
  }
  const baseline = { ...defaults.baseline, ...SFP_OPTIMISER };
  return {
    baseline,
    finetune: defaults.finetune,
    scratchB: (full, pruned) =>
      ({ ...cifarRecipe(Math.floor(2 * profile.epochs * (full / pruned))), ...SFP_OPTIMISER,
        lr: baseline.lr, batchSize: baseline.batchSize }),
  };
}

/**
 * Soft Filter Pruning (He et al., IJCAI 2018) on the experiment framework: the model trains with its lowest-L2
 * filters zeroed after every epoch (`baseline-sfp`, from scratch or from the plain baseline); the zeros it ends
 * with are the pruned model (masks, as the seed keeps them); Scratch-E and Scratch-B train that mask from a
 * fresh init with the seed's sparse fan.
 */
export const sfpMethod: MethodDefinition<SfpVariant> = {
  name: 'soft-filter-pruning',
  command: 'prune-sfp',
  package: '@rethink-prune/method-sfp',
  title: 'Soft Filter Pruning (He et al., 2018): zero the lowest-norm filters after every epoch, let them regrow',
  variants: SFP_VARIANTS,
  // quick and smoke run ResNet-20 from scratch: the deeper ResNets cost several times more per image on a CPU.
  defaultVariants: (profile) => (profile.fullGrid ? Object.keys(SFP_VARIANTS) : ['resnet20']),
  pruner: { kind: 'unstructured', version: 'sfp 1', masks: ({ model, variant }) => softPruneMasks(model, variant.rate) },
  training: (stage, variant) => (stage === 'baseline'
    ? softPruneTraining(variant.rate, variant.start, variant.recalibrateBn) : undefined),
  plainBaseline: true,
  initScratch: sparseScratchInit,
  recipes: (defaults, profile) => sfpRecipes(defaults, profile),
  pruneOption: {
    name: 'rate',
    value: 'r',
    help: 'zero the lowest-L2 filters of every conv, keeping the share r (SFP: 0.7), in any saved model',
    variant: (value) => ({ rate: parseRate(value), start: 'scratch' as const }),
  },
  // The dense model the zeros allow (only the blocks' first convs can shrink), its FLOPs and its accuracy as
  // trained: a zeroed filter's channel still carries its BN shift, which the dense model drops.
  pruneReport: ({ pruned, evaluate }) => {
    const compact = compactModel(pruned.model, pruned.spec);
    try {
      const full = countSpec(pruned.spec).flops;
      const fewer = (flops: number) => `${(100 * (1 - flops / full)).toFixed(1)}% fewer`;
      const dense = countSpec(compact.spec).flops;
      const shrunk = compact.shrunk;
      return {
        'dense model': `FLOPs ${dense} (${fewer(dense)}; counting non-zero weights as the seed: ` +
          `${fewer(countSpec(pruned.spec, pruned.masks).flops)}); shrinks ${shrunk.length} convs ` +
          `(${shrunk.slice(0, 3).join(', ')}${shrunk.length > 3 ? ', …' : ''})`,
        ...(evaluate ? { 'dense model top-1': `${evaluate(compact.model).toFixed(2)}% (the soft-pruned model's BN ` +
          'shifts of the removed channels dropped)' } : {}),
      };
    } finally {
      compact.model.dispose();
    }
  },
  reference: readReference(path.join(__dirname, '..', 'reference.json')),
};
