import * as tf from '@tensorflow/tfjs';
import { applyMasks, convKernels, type MaskSet, type Recipe, type StageTraining } from '@rethink-prune/core';

/** L2 norm of each output filter of an NHWC conv kernel [kh, kw, in, out]. */
export function filterL2Norms(kernel: tf.Tensor): Float32Array {
  return tf.tidy(() => tf.sqrt(tf.sum(tf.square(kernel), [0, 1, 2])).dataSync() as Float32Array);
}

/** Filters the seed zeroes in a conv of `filters` outputs: int(filters · (1 − rate)). */
export const zeroedFilterCount = (filters: number, rate: number) => Math.floor(filters * (1 - rate));

/**
 * SFP's criterion (`pruning_cifar10_resnet.py`, class Mask): in every conv, the int(C_out·(1 − rate)) filters
 * of smallest L2 norm get a 0 mask over all their weights (lower index first on a tie); the rest 1.
 */
export function softPruneMasks(model: tf.LayersModel, rate: number): MaskSet {
  return new Map(convKernels(model).map(([name, weight]) => {
    const kernel = weight.read();
    const norms = filterL2Norms(kernel);
    const order = Array.from(norms.keys()).sort((a, b) => norms[a] - norms[b] || a - b);
    const zeroed = new Set(order.slice(0, zeroedFilterCount(norms.length, rate)));
    const keep = Array.from(norms, (_, filter) => (zeroed.has(filter) ? 0 : 1));
    const shape = kernel.shape as [number, number, number, number];
    return [name, tf.tidy(() => tf.mul(tf.ones(shape), tf.tensor1d(keep)))];
  }));
}

/** Zeroes the lowest-norm filters of every conv in place (the weights only: BN and gradients stay). */
export function softPrune(model: tf.LayersModel, rate: number): void {
  const masks = softPruneMasks(model, rate);
  applyMasks(model, masks);
  for (const mask of masks.values()) mask.dispose();
}

/**
 * Batches run forward in training mode after each zeroing by the `-bn-recalibrate` variants: BN's moving averages
 * (momentum 0.9) then keep 0.9^50 < 1% of the statistics of the weights before the zeroing.
 */
export const RECALIBRATION_BATCHES = 50;

/**
 * Soft pruning as a training hook: zero the filters on the starting weights, then again after every epoch
 * (`--epoch_prune 1`); in between, the zeroed filters are trained like the others and may grow back.
 */
export function softPruneTraining(rate: number, start: 'scratch' | 'pretrained', recalibrateBn = false): StageTraining {
  // From the trained baseline at a tenth of its LR, as the seed's README command (--lr 0.001, --resume).
  const fromBaseline = {
    start: 'plain-baseline' as const,
    recipe: (plain: Recipe) => ({ ...plain, lr: plain.lr / 10 }),
  };
  return {
    id: `${start === 'pretrained' ? 'sfp-pretrained' : 'sfp'}${recalibrateBn ? '-bn-recalibrate' : ''}`,
    params: { rate, everyEpochs: 1, ...(recalibrateBn ? { recalibrateBnBatches: RECALIBRATION_BATCHES } : {}) },
    ...(start === 'pretrained' ? fromBaseline : {}),
    hooks: () => ({
      beforeTraining: (model) => softPrune(model, rate),
      afterEpoch: async ({ model, forwardTraining }) => {
        softPrune(model, rate);
        // Not the seed's: the moving statistics of every BN follow the zeroed weights before the evaluation.
        if (recalibrateBn) await forwardTraining(RECALIBRATION_BATCHES);
      },
    }),
  };
}
