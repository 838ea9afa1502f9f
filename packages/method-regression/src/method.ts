import * as path from 'path';
import {
  readReference, reconstructableLayers, scaleTargets, withInitialLr, type ArchSpec, type MethodDefinition,
} from '@rethink-prune/core';
import { regressionPrune } from './prune';
import { parseKeepRatio, REGRESSION_VARIANTS, type RegressionVariant } from './variants';

/** Training images sampled (the authors': 5 000), 10 positions each. */
export const REGRESSION_IMAGES = 256;
export const SAMPLES_PER_IMAGE = 10;

/** Each layer the variant prunes, with the channels it keeps on `spec` (targets scale with a narrowed model). */
function layerTargets(variant: RegressionVariant, name: string, spec: ArchSpec, fullSpec: ArchSpec) {
  if (variant.widths) {
    const widths = scaleTargets(new Map(Object.entries(variant.widths)), fullSpec, spec);
    return reconstructableLayers(spec, [...widths.keys()]).map((layer) => ({ ...layer, keep: widths.get(layer.group.id)! }));
  }
  const ratio = variant.keepRatio;
  if (ratio === undefined) throw new Error(`${name} sets no keep ratio or widths: Channel Pruning cannot prune with it`);
  return reconstructableLayers(spec, variant.layers).map((layer) => ({ ...layer, keep: Math.max(1, Math.floor(layer.group.size * ratio)) }));
}

/**
 * Channel Pruning on the experiment framework: a data-driven structured pruner (core gives it training images) that
 * picks each layer's channels by LASSO and refits the next conv by least squares; the framework fine-tunes the
 * result and trains it from scratch (Scratch-E, Scratch-B).
 */
export const regressionMethod: MethodDefinition<RegressionVariant> = {
  name: 'regression',
  command: 'prune-regression',
  package: '@rethink-prune/method-regression',
  title: 'Channel Pruning by regression-based feature reconstruction (He, Zhang, Sun, ICCV 2017)',
  variants: REGRESSION_VARIANTS,
  defaultVariants: (profile, dataset) =>
    dataset === 'imagenet' ? ['vgg16-5x', 'resnet50-2x'] : profile.fullGrid ? ['vgg16-50', 'resnet56-50'] : ['vgg16-50'],
  pruner: {
    kind: 'structured',
    version: 'regression 1',
    images: REGRESSION_IMAGES,
    reconstruct: ({ model, spec, fullSpec, variant, variantName, images }) =>
      regressionPrune(model, spec, images!, {
        layers: layerTargets(variant, variantName, spec, fullSpec), samplesPerImage: SAMPLES_PER_IMAGE, seed: 0,
        onLayer: (r) => process.stderr.write(`regression ${r.layer}: keep ${r.kept} of ${r.of} channels` +
          `${r.exact ? '' : ' (α search stalled on a tie: the strongest channels of a wider support)'}, relative ` +
          `error of the next conv's output ${r.errorBefore.toFixed(4)} → ${r.errorAfter.toFixed(4)} after the refit\n`),
      }),
  },
  // The seed trains the BN-free ImageNet VGG at LR 0.01 (README), the ResNets at the default 0.1.
  recipes: (defaults, _profile, dataset, variant) =>
    (dataset === 'imagenet' && variant.base.startsWith('vgg') ? withInitialLr(defaults, 0.01) : defaults),
  pruneOption: {
    name: 'ratio',
    value: 'r',
    help: 'keep the share r (0 < r < 1) of the channels of every layer read by one conv, in any saved model',
    variant: (value) => ({ keepRatio: parseKeepRatio(value) }),
  },
  reference: readReference(path.join(__dirname, '..', 'reference.json')),
};
