import { namedSpec, parseShare, type ArchSpec, type MethodVariant, type VggCfg } from '@rethink-prune/core';
import './models';
import RESNET50_2X_SELECTIONS from './resnet50-2x-selections.json';

/**
 * A Channel Pruning prune: per layer (channel-group id on the full model) the channels kept, or one share for every
 * layer it prunes (`keepRatio`; `layers` absent: every layer read by one conv). Or the published VGG-16-5x
 * (`architecture`), which the paper trains from scratch only.
 */
export interface RegressionVariant extends MethodVariant {
  keepRatio?: number;
  widths?: Record<string, number>;
  layers?: string[];
}

/** VGG-16's conv1_1 … conv4_3: the layers VGG-16-5x prunes (conv5_x and the FCs stay). */
const VGG16_CONV1_TO_4 = Array.from({ length: 10 }, (_, i) => `features.${i}.conv`);

/** The seed's vgg_5x.py (= the authors' released CP-5x): conv1_1 … conv4_3 widths. */
const VGG16_5X_WIDTHS = [24, 22, 41, 51, 108, 89, 111, 184, 276, 228];
const VGG16_5X_CFG: VggCfg =
  [24, 22, 'M', 41, 51, 'M', 108, 89, 111, 'M', 184, 276, 228, 'M', 512, 512, 512, 'M'];

/** VGG-16-5x as an architecture: the BN-free ImageNet VGG-16 with vgg_5x.py's widths. */
export const VGG16_5X: ArchSpec = { ...namedSpec('vgg16-imagenet', 'imagenet'), cfg: VGG16_5X_CFG } as ArchSpec;

/**
 * The seed's resnet_2x.py (= the authors' released ResNet-50-2x): per bottleneck, conv1 and conv2 widths of cfg_2x
 * (its second and third entries per block; conv3 and the residual stream keep ResNet-50's widths) …
 */
const RESNET50_2X_CFG = [64, 55, 51, 39, 50, 37, 128, 106, 105, 72, 105, 72, 128, 110, 256, 225, 209, 147, 204, 158,
  212, 155, 211, 148, 256, 213, 512, 433, 512, 437, 512, 440];

/**
 * … and the block-input channels each conv1 reads (cfg_2x's first entry per block counts them): the 0/1 `indexes` of
 * the seed's models/filter.pkl, which it computed from the released model, as index lists. Extracted with
 * `pickle.load(open('models/filter.pkl', 'rb'))` → `numpy.flatnonzero(mask)` per block, in the order of the blocks.
 */
export const RESNET50_2X: ArchSpec = { ...namedSpec('resnet50-official', 'imagenet'), cfg: RESNET50_2X_CFG,
  inputSelections: RESNET50_2X_SELECTIONS } as ArchSpec;

export const REGRESSION_VARIANTS: Record<string, RegressionVariant> = {
  // CIFAR-size: the algorithm on the paper's CIFAR models (these run here).
  'vgg16-50': { base: 'vgg16', keepRatio: 0.5, layers: VGG16_CONV1_TO_4 },
  'resnet56-50': { base: 'resnet56', keepRatio: 0.5 },
  // ImageNet: the algorithm to VGG-16-5x's widths, and Table 3's architecture trained from scratch.
  'vgg16-5x-prune': { base: 'vgg16-imagenet',
    widths: Object.fromEntries(VGG16_CONV1_TO_4.map((id, i) => [id, VGG16_5X_WIDTHS[i]])) },
  'vgg16-5x': { base: 'vgg16-imagenet', architecture: VGG16_5X },
  'resnet50-2x': { base: 'resnet50-official', architecture: RESNET50_2X },
};

/** `--ratio` of `prune`: the share of channels each pruned layer keeps, strictly between 0 and 1. */
export const parseKeepRatio = (value: string): number =>
  parseShare('ratio', value, 'the share of channels each pruned layer keeps, between 0 and 1 (e.g. 0.5)');
