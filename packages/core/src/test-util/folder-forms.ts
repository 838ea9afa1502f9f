import { namedSpec } from '../spec';
import type { ArchSpec } from '../models/registry';

/**
 * The seed folders' forms of core's models, as the spec fields that say what differs (for core's own tests; the
 * method packages register them under their names: method-weight-level's `vgg19-wl`, method-sfp's `resnet56-sfp`).
 */
/** bearpaw's CIFAR models, which the weight-level folder trains: conv bias, fan-in init, BN γ 1, one linear layer. */
export const BEARPAW_VGG = { classifier: 'linear', convBias: true, bnGamma: 1, convInit: 'fan-in' } as const;
/** bearpaw's PreResNet and DenseNet: no channel selections, BN γ 1. */
export const NO_SELECTIONS = { channelSelection: false, bnGamma: 1 } as const;
/** Soft Filter Pruning's CIFAR ResNet. */
export const SFP_RESNET = { shortcutPool: 1, shortcutGradient: true, fcInit: 'kaiming-normal', functionalReLU: true } as const;

/** Core's named model with a folder's fields; a DenseNet without selections drops its cfg. */
export function withForm(name: string, fields: Record<string, unknown>, extra: Record<string, unknown> = {}): ArchSpec {
  const { cfg, ...spec } = namedSpec(name) as ArchSpec & { cfg?: unknown };
  const keepCfg = !(spec.arch === 'densenet' && fields.channelSelection === false);
  return { ...spec, ...(keepCfg ? { cfg } : {}), ...fields, ...extra } as ArchSpec;
}

/** The weight-level folder's models by the names method-weight-level gives them. */
export const WEIGHT_LEVEL_FORMS: Record<string, () => ArchSpec> = {
  'vgg19-wl': () => withForm('vgg19', BEARPAW_VGG),
  'preresnet110-wl': () => withForm('preresnet110', NO_SELECTIONS),
  'densenet40-wl': () => withForm('densenet40', NO_SELECTIONS),
  'densenet-bc100': () => withForm('densenet40', NO_SELECTIONS, { depth: 100, bottleneck: true, compressionRate: 2 }),
  'densenet100-basic': () => withForm('densenet40', NO_SELECTIONS, { depth: 100, compressionRate: 2 }),
};
