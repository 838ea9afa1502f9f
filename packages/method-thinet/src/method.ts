import * as path from 'path';
import type * as tf from '@tensorflow/tfjs';
import {
  readReference, reconstructableLayers, withInitialLr, type BetweenLayers, type MethodDefinition, type PruneContext,
} from '@rethink-prune/core';
import { thinetPrune } from './prune';
import { THINET_ARCHITECTURE_NAMES } from './architectures';
import { parseKeepRatio, THINET_VARIANTS, type ThinetVariant } from './variants';

function keepRatioOf(variant: ThinetVariant, name: string): number {
  if (variant.keepRatio === undefined) throw new Error(`${name} sets no keep ratio: ThiNet cannot prune with it`);
  return variant.keepRatio;
}

/** Training images ThiNet samples (the authors': 10 per ImageNet class); 10 positions each. */
export const THINET_IMAGES = 256;
export const SAMPLES_PER_IMAGE = 10;

/**
 * The authors' fine-tuning between layers (ThiNet_ICCV/net_generator.py): about an epoch at the fine-tune LR after each
 * layer, two (the LR ÷10 after the first) after a layer whose output is pooled; none after the last (the method's
 * fine-tune stage follows). Undefined where the variant is one-shot or the prune has no training data.
 */
function authorsSchedule(ctx: PruneContext<ThinetVariant>): BetweenLayers | undefined {
  const fineTune = ctx.fineTune;
  if (ctx.variant.betweenLayers === false || !fineTune) return undefined;
  return async (work, masks, done) => {
    const source = (work.getLayer(done.next).input as tf.SymbolicTensor).sourceLayer;
    const pooled = /Pooling/.test(source.getClassName());
    process.stderr.write(`thinet ${done.group.id}: fine-tuning ${pooled ? 2 : 1} epoch(s) before the next layer\n`);
    await fineTune(work, masks, { epochs: pooled ? 2 : 1, milestones: pooled ? [1] : [],
      label: `thinet ${ctx.variantName} after ${done.group.id}` });
  };
}

/**
 * ThiNet on the experiment framework: a data-driven structured pruner (core gives it training images) that
 * selects each layer's channels by the next layer's reconstruction and rescales that layer's kept inputs; the
 * framework fine-tunes the result and trains it from scratch (Scratch-E, Scratch-B).
 */
export const thinetMethod: MethodDefinition<ThinetVariant> = {
  name: 'thinet',
  command: 'prune-thinet',
  package: '@rethink-prune/method-thinet',
  title: 'ThiNet channel pruning by next-layer reconstruction (Luo, Wu, Lin, ICCV 2017)',
  variants: THINET_VARIANTS,
  // quick runs the CIFAR VGG-16 with ThiNet-Conv's layers; the ResNets with `--models resnet56-50`.
  defaultVariants: (profile, dataset) =>
    dataset === 'imagenet' ? [...THINET_ARCHITECTURE_NAMES]
      : profile.fullGrid ? ['vgg16-conv', 'resnet56-50', 'resnet56-30'] : ['vgg16-conv'],
  pruner: {
    kind: 'structured',
    version: 'thinet 2',
    images: THINET_IMAGES,
    reconstruct: (ctx) =>
      thinetPrune(ctx.model, ctx.spec, ctx.images!, {
        layers: reconstructableLayers(ctx.spec, ctx.variant.layers), keepRatio: keepRatioOf(ctx.variant, ctx.variantName),
        samplesPerImage: SAMPLES_PER_IMAGE, seed: 0, between: authorsSchedule(ctx),
        onLayer: (r) => process.stderr.write(`thinet ${r.layer}: keep ${r.kept} of ${r.of} channels, relative ` +
          `reconstruction error of the next conv ${r.errorBefore.toFixed(4)} → ${r.errorAfter.toFixed(4)} after rescaling\n`),
      }),
  },
  // The seed trains the BN-free ImageNet VGGs at LR 0.01 (README), the ResNets at the default 0.1.
  recipes: (defaults, _profile, dataset, variant) =>
    (dataset === 'imagenet' && variant.base.startsWith('vgg') ? withInitialLr(defaults, 0.01) : defaults),
  pruneOption: {
    name: 'ratio',
    value: 'r',
    help: 'keep the share r (0 < r < 1) of the channels of every layer ThiNet can prune in any saved model',
    variant: (value) => ({ keepRatio: parseKeepRatio(value) }),
  },
  reference: readReference(path.join(__dirname, '..', 'reference.json')),
};
