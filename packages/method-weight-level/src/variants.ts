import { parseShare, type MethodVariant } from '@rethink-prune/core';
// Registers this folder's named models with core (the variants' `base` names them).
import './models';

/** A model of the weight-level folder and the share of all its conv weights pruned by the global threshold. */
export interface WeightLevelVariant extends MethodVariant {
  percent: number;
}

/**
 * The paper's models (Table 6) by short name: the weight-level folder's VGG-19-BN and PreResNet-110, the
 * DenseNet-100 its scripts really build for "DenseNet-BC-100" (basic blocks, compression 0.5, 4.07M params) and
 * the bottleneck DenseNet-BC-100 (0.8M) the name means; torchvision's VGG-16-BN and ResNet-50 on ImageNet.
 */
export const WEIGHT_LEVEL_MODELS: Record<string, string> = {
  vgg19: 'vgg19-wl',
  preresnet110: 'preresnet110-wl',
  densenet100: 'densenet100-basic',
  'densenet-bc100': 'densenet-bc100',
  resnet50: 'resnet50-imagenet',
  vgg16: 'vgg16-bn-imagenet',
};

/** Table 6's ratios (30/80 on CIFAR-10, 30/50 on CIFAR-100, 30/60 on ImageNet) and a sweep up to 95%. */
export const PERCENTS = [30, 50, 60, 70, 80, 90, 95];

/** `vgg19-30` … `resnet50-95`: every model at every percent. */
export const WEIGHT_LEVEL_VARIANTS: Record<string, WeightLevelVariant> = Object.fromEntries(
  Object.entries(WEIGHT_LEVEL_MODELS).flatMap(([short, base]) =>
    PERCENTS.map((p) => [`${short}-${p}`, { base, percent: p / 100 }])),
);

/** Table 6's rows for a dataset. */
export function tableVariants(dataset: string): string[] {
  if (dataset === 'imagenet') return ['vgg16-30', 'vgg16-60', 'resnet50-30', 'resnet50-60'];
  const ratios = dataset === 'cifar100' ? [30, 50] : [30, 80];
  return ['vgg19', 'preresnet110', 'densenet100'].flatMap((model) => ratios.map((r) => `${model}-${r}`));
}

/** `--percent` of `prune`: the share of conv weights to prune, strictly between 0 and 1. */
export const parsePercent = (value: string): number =>
  parseShare('percent', value, 'the share of conv weights to prune, between 0 and 1 (e.g. 0.8)');
