import { namedSpec, type MethodVariant } from '@rethink-prune/core';
// Registers this folder's named models with core (the variants' `base` names them).
import './models';

/**
 * An SSS search: a CIFAR ResNet or PreResNet with a factor λ per residual block (`resnet56-sss`: core's l1-norm
 * ResNet with `blockScales`; `preresnet164-sss`: the slimming folder's PreResNet), trained with the sparsity weight γ
 * on Σ|λ|.
 */
export interface SssVariant extends MethodVariant {
  gamma: number;
}

/** γ values: 0.01 is the authors' default (ImageNet, 100 epochs); the short profiles need a larger one to zero any λ. */
export const SSS_GAMMAS = [0.01, 0.03, 0.1, 0.3, 1];
const DEPTHS = [20, 32, 56, 110];
/** The slimming folder's PreResNets (pre-activation bottlenecks, 9n+2). */
const PRERESNET_DEPTHS = [110, 164];

/** `resnet56-g0.01`, `preresnet164-g0.1` … : every depth at every γ. */
const SEARCH_VARIANTS = [...DEPTHS.map((depth) => `resnet${depth}`), ...PRERESNET_DEPTHS.map((depth) => `preresnet${depth}`)]
  .flatMap((net) => SSS_GAMMAS.map((gamma): [string, SssVariant] => [`${net}-g${gamma}`, { base: `${net}-sss`, gamma }]));

/**
 * Table 5's ImageNet nets `resnet41|32|26`: the authors' pruned pre-activation ResNet-50s, trained from
 * scratch against `preresnet50-imagenet` (no search runs here, so γ is unused: 0).
 */
const ARCHITECTURE_VARIANTS = [41, 32, 26].map((depth): [string, SssVariant] => [`resnet${depth}`, {
  base: 'preresnet50-imagenet', gamma: 0, architecture: namedSpec(`sss-resnet${depth}`, 'imagenet'),
}]);

export const SSS_VARIANTS: Record<string, SssVariant> =
  Object.fromEntries([...SEARCH_VARIANTS, ...ARCHITECTURE_VARIANTS]);
