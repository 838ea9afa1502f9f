import * as tf from '@tensorflow/tfjs';
import { UnknownWeightError } from '../errors';

/**
 * Weight masks for unstructured pruning: weight name (`layer/kernel`, as tfjs names variables) → 0/1 tensor
 * of the weight's shape. The training loop zeroes masked weights once, then masks their gradients every step.
 */
export type MaskSet = Map<string, tf.Tensor>;

/** The model's weight variables by their stable name (`features.0.conv/kernel`). */
export function namedWeights(model: tf.LayersModel): Map<string, tf.LayerVariable> {
  const out = new Map<string, tf.LayerVariable>();
  for (const layer of model.layers) for (const w of layer.weights) out.set(w.originalName, w);
  return out;
}

export function applyMasks(model: tf.LayersModel, masks: MaskSet): void {
  const weights = namedWeights(model);
  tf.tidy(() => {
    for (const [name, mask] of masks) {
      const w = weights.get(name);
      if (!w) throw new UnknownWeightError('masks', name, [...weights.keys()]);
      w.write(tf.mul(w.read(), mask));
    }
  });
}

/** How many weights a 0/1 mask keeps. */
export const keptWeights = (mask: tf.Tensor): number => tf.tidy(() => tf.sum(mask).dataSync()[0]);

/** Fraction of masked weights that are zero, over all masks. */
export function maskSparsity(masks: MaskSet): number {
  let zeros = 0;
  let total = 0;
  for (const m of masks.values()) {
    total += m.size;
    zeros += m.size - keptWeights(m);
  }
  return total === 0 ? 0 : zeros / total;
}

/** Every trainable Conv2D's kernel by weight name: what the seed's weight-level and SFP scripts prune (no bias, BN, fc). */
export function convKernels(model: tf.LayersModel): Array<[string, tf.LayerVariable]> {
  return model.layers
    .filter((layer) => layer.getClassName() === 'Conv2D' && layer.trainable)
    .map((layer) => layer.weights.find((w) => w.originalName === `${layer.name}/kernel`)!)
    .map((w) => [w.originalName, w]);
}

/**
 * The seed's scratch init for masked models (weight-level cifar_E.py, SFP's pruning_resnet_scratch.py): each
 * masked conv kernel is re-drawn from N(0, √(2/n)) with n = (weights its mask keeps) / C_in, the fan-out the
 * surviving weights give a filter, before the mask zeroes the rest. A kernel that keeps nothing stays zero.
 */
export function sparseScratchInit(model: tf.LayersModel, masks: MaskSet | undefined, seed: number): void {
  if (!masks) return;
  convKernels(model).forEach(([name, weight], i) => {
    const mask = masks.get(name);
    if (!mask) return;
    const inChannels = weight.shape[2] as number;
    const kept = keptWeights(mask);
    const std = kept > 0 ? Math.sqrt(2 / (kept / inChannels)) : 0;
    weight.write(tf.tidy(() => tf.randomNormal(weight.shape as number[], 0, std, 'float32', seed * 1000 + i)));
  });
}
