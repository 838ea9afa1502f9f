import { parseShare, type MethodVariant } from '@rethink-prune/core';
import { THINET_ARCHITECTURE_NAMES, THINET_ARCHITECTURES } from './architectures';

/**
 * A ThiNet prune: the share of channels each pruned layer keeps (ThiNet's compression rate: ThiNet-30 keeps 30%)
 * and the layers it prunes, by channel-group id on the full model (absent: every layer ThiNet can prune there).
 * Or one of the published ThiNet architectures (`architecture`), which the paper trains from scratch only.
 */
export interface ThinetVariant extends MethodVariant {
  keepRatio?: number;
  layers?: string[];
  /**
   * The authors' schedule fine-tunes the network pruned so far after every layer (about an epoch; two, the LR ÷10
   * after the first, before a pooling layer) where the prune has training data; `false`: one-shot, all layers
   * pruned before the fine-tune stage.
   */
  betweenLayers?: false;
}

/** The model a published architecture is compared with: `vgg16-imagenet` (no BN) or `resnet50-imagenet`. */
const referenceOf = (name: string) => (name.startsWith('thinet-') && /\d$/.test(name) ? 'resnet50-imagenet' : 'vgg16-imagenet');

/** VGG-16's conv1_1 … conv4_3 (the first ten convs): the layers ThiNet-Conv halves; conv5_x and the FCs stay. */
const VGG16_CONV1_TO_4 = Array.from({ length: 10 }, (_, i) => `features.${i}.conv`);

/** The first two convs of every ResNet-50 bottleneck (conv3 and the residual width stay), [3, 4, 6, 3] blocks. */
const RESNET50_INNER = [3, 4, 6, 3].flatMap((blocks, stage) =>
  Array.from({ length: blocks }, (_, b) => [`layer${stage + 1}.${b}.conv1`, `layer${stage + 1}.${b}.conv2`]).flat());

export const THINET_VARIANTS: Record<string, ThinetVariant> = {
  // CIFAR-size: the algorithm on the paper's CIFAR models (these run here).
  'vgg16-conv': { base: 'vgg16', keepRatio: 0.5, layers: VGG16_CONV1_TO_4 },
  'vgg16-conv-oneshot': { base: 'vgg16', keepRatio: 0.5, layers: VGG16_CONV1_TO_4, betweenLayers: false },
  'resnet56-50': { base: 'resnet56', keepRatio: 0.5 },
  'resnet56-50-oneshot': { base: 'resnet56', keepRatio: 0.5, betweenLayers: false },
  'resnet56-30': { base: 'resnet56', keepRatio: 0.3 },
  // ImageNet: ThiNet-Conv on the BN-free VGG-16, ThiNet-30/50/70 on ResNet-50.
  'vgg16-thinet-conv': { base: 'vgg16-imagenet', keepRatio: 0.5, layers: VGG16_CONV1_TO_4 },
  'resnet50-thinet-30': { base: 'resnet50-imagenet', keepRatio: 0.3, layers: RESNET50_INNER },
  'resnet50-thinet-50': { base: 'resnet50-imagenet', keepRatio: 0.5, layers: RESNET50_INNER },
  'resnet50-thinet-70': { base: 'resnet50-imagenet', keepRatio: 0.7, layers: RESNET50_INNER },
  // Table 2: the published architectures (Scratch-E and Scratch-B; the fine-tuned numbers are the authors').
  ...Object.fromEntries(THINET_ARCHITECTURE_NAMES.map((name) =>
    [name, { base: referenceOf(name), architecture: THINET_ARCHITECTURES[name] }])),
};

/** `--ratio` of `prune`: the share of channels each pruned layer keeps, strictly between 0 and 1. */
export const parseKeepRatio = (value: string): number =>
  parseShare('ratio', value, 'the share of channels each pruned layer keeps, between 0 and 1 (e.g. 0.5)');
