import * as path from 'path';
import {
  BLOCK_SCALE_SUFFIX, foldBlockScales, namedWeights, NothingPrunedError, readReference, removeBlocks, residualBlocks,
  shortcutChangesShapeIn, type BlockSpec, type MethodDefinition, type Profile, type StageRecipes,
} from '@rethink-prune/core';
import { apgHook } from './apg';
import { SSS_VARIANTS, type SssVariant } from './variants';

/** Every block's λ by block name (`layer1.0` → 0.83). */
export function blockFactors(model: import('@tensorflow/tfjs').LayersModel, spec: BlockSpec): Map<string, number> {
  const weights = namedWeights(model);
  return new Map(residualBlocks(spec).map((block) =>
    [block.name, weights.get(`${block.name}${BLOCK_SCALE_SUFFIX}/lambda`)!.read().dataSync()[0]]));
}

/**
 * Sparse Structure Selection on the experiment framework: the baseline trains every block's λ with the proximal
 * APG step (γ·|λ|, soft-thresholding); the prune removes the blocks whose λ reached exactly 0 and folds the other λ
 * into their BN, leaving a plain shallower ResNet; the framework fine-tunes it (the paper needs none: its "Pruned"
 * column is our accuracy before fine-tuning) and trains it from scratch (Scratch-E, Scratch-B).
 */
export const sssMethod: MethodDefinition<SssVariant> = {
  name: 'sss',
  command: 'prune-sss',
  package: '@rethink-prune/method-sss',
  title: 'Sparse Structure Selection: residual-block pruning (Huang & Wang, ECCV 2018)',
  variants: SSS_VARIANTS,
  // quick: ResNet-20 at γ = 0.1; in four quick epochs γ = 0.03 zeroes no λ and γ ≥ 0.3 zeroes all of them.
  // ImageNet: Table 5's architectures, trained from scratch against the pre-activation ResNet-50.
  defaultVariants: (profile, dataset) => (dataset === 'imagenet' ? ['resnet41', 'resnet32', 'resnet26']
    : profile.fullGrid ? ['resnet56-g0.01', 'resnet110-g0.01'] : ['resnet20-g0.1']),
  training: (stage, variant) => {
    if (stage !== 'baseline') return undefined;
    return {
      id: `sss-g${variant.gamma}`, // one search per γ: variants of a depth differ only in γ
      params: { gamma: variant.gamma, momentum: 0.9 },
      hooks: (model) => ({
        ownUpdate: apgHook(model.layers.filter((layer) => layer.name.endsWith(BLOCK_SCALE_SUFFIX))
          .map((layer) => `${layer.name}/lambda`), variant.gamma),
      }),
    };
  },
  // Table 5's "Unpruned": the same network trained without the sparsity term.
  plainBaseline: true,
  pruner: {
    kind: 'structured',
    version: 'sss 1',
    transform: ({ model, spec, variantName }) => {
      const resnet = spec as BlockSpec;
      const factors = blockFactors(model, resnet);
      const zero = residualBlocks(resnet).filter((block) => factors.get(block.name) === 0);
      // A zero-λ block whose shortcut changes shape stays (its branch is zero once folded): it is no identity.
      const removable = zero.filter((block) => !shortcutChangesShapeIn(resnet, block)).map((block) => block.name);
      if (removable.length === 0) {
        throw new NothingPrunedError(variantName, `no removable block's λ reached 0 (smallest λ ${Math.min(...factors.values()).toFixed(4)}); ` +
          'a larger γ or a longer search zeroes more');
      }
      const shallower = removeBlocks(model, resnet, removable);
      const folded = foldBlockScales(shallower.model, shallower.spec);
      shallower.model.dispose();
      const kept = zero.filter((block) => shortcutChangesShapeIn(resnet, block)).map((block) => block.name);
      const lambdas = [...factors].map(([name, value]) => `${name} ${value.toFixed(3)}`).join(', ');
      return {
        ...folded,
        report: {
          'blocks removed': removable.length === 0 ? 'none' : removable.join(', '),
          ...(kept.length > 0 ? { 'zero λ kept (shortcut changes shape)': kept.join(', ') } : {}),
          'λ per block': lambdas,
        },
      };
    },
  },
  recipes: (defaults, profile, dataset) => (dataset === 'imagenet' ? sssImagenetRecipes(defaults, profile) : defaults),
  reference: readReference(path.join(__dirname, '..', 'reference.json')),
};

/**
 * The SSS README's ImageNet recipes: Scratch-E 100 epochs, LR ÷10 at 30, 60, 90; Scratch-B int(100·r) epochs with
 * the steps at k·int(30·r) (every stage stretched by the FLOPs ratio r: 117 / 145 / 179 epochs for ResNet-41/32/26).
 * Shorter profiles keep their own epoch count in place of 100.
 */
export function sssImagenetRecipes(defaults: StageRecipes, profile: Profile): StageRecipes {
  const epochs = profile.seedRecipes ? 100 : profile.imagenet.epochs;
  const stretched = (ratio: number) => {
    const step = Math.floor((epochs * 0.3) * ratio);
    return { epochs: Math.floor(epochs * ratio), milestones: step > 0 ? [step, 2 * step, 3 * step] : [] };
  };
  return {
    baseline: { ...defaults.baseline, ...stretched(1) },
    finetune: defaults.finetune,
    scratchB: (full, pruned) => ({ ...defaults.baseline, ...stretched(full / pruned) }),
  };
}
