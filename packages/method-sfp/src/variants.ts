import { parseShare, type MethodVariant } from '@rethink-prune/core';
// Registers this folder's named models with core (the variants' `base` names them).
import './models';

/**
 * SFP on one of its CIFAR ResNets: `rate` is the share of filters each conv keeps (the seed's `--rate 0.7`),
 * `start` whether soft pruning trains from a random init (he-y's cifar10_resnet.sh) or from the trained
 * baseline (the seed's README command with `--resume`).
 */
export interface SfpVariant extends MethodVariant {
  rate: number;
  start: 'scratch' | 'pretrained';
  /**
   * Not the seed's: after each zeroing, 50 training batches run forward with no step (soft-prune.ts), so every BN's
   * moving statistics follow the zeroed weights before the model is evaluated. The `-bn-recalibrate` variants.
   */
  recalibrateBn?: boolean;
}

export const SFP_DEPTHS = [20, 32, 56, 110];

/**
 * `resnet56` (from scratch) and `resnet56-pretrained`, for ResNet-20/32/56/110 at the seed's rate 0.7, and each with
 * `-bn-recalibrate` (not the seed's: BN's moving statistics recomputed after every zeroing).
 */
export const SFP_VARIANTS: Record<string, SfpVariant> = Object.fromEntries(SFP_DEPTHS.flatMap((depth) => {
  const seedFaithful: Array<[string, SfpVariant]> = [
    [`resnet${depth}`, { base: `resnet${depth}-sfp`, rate: 0.7, start: 'scratch' }],
    [`resnet${depth}-pretrained`, { base: `resnet${depth}-sfp`, rate: 0.7, start: 'pretrained' }],
  ];
  return [...seedFaithful,
    ...seedFaithful.map(([name, v]): [string, SfpVariant] => [`${name}-bn-recalibrate`, { ...v, recalibrateBn: true }])];
}));

/** `--rate` of `prune`: the share of filters each conv keeps, strictly between 0 and 1. */
export const parseRate = (value: string): number =>
  parseShare('rate', value, 'the share of filters each conv keeps, between 0 and 1 (SFP: 0.7)');
