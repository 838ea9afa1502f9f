import * as tf from '@tensorflow/tfjs';
import type { MaskSet } from '@rethink-prune/core';

/** The kernels the seed's cifar_prune.py thresholds: every trainable Conv2D's (not biases, BN or linear layers). */
export function convKernels(model: tf.LayersModel): Array<[string, tf.LayerVariable]> {
  return model.layers
    .filter((layer) => layer.getClassName() === 'Conv2D' && layer.trainable)
    .map((layer) => layer.weights.find((w) => w.originalName === `${layer.name}/kernel`)!)
    .map((w) => [w.originalName, w]);
}

/** The seed's threshold over weights: sort all |w| ascending and take the one at index int(total · percent). */
export function magnitudeThreshold(kernels: tf.Tensor[], percent: number): number {
  const total = kernels.reduce((sum, k) => sum + k.size, 0);
  const all = new Float32Array(total);
  let offset = 0;
  for (const kernel of kernels) {
    const values = kernel.dataSync();
    for (let i = 0; i < values.length; i++) all[offset + i] = Math.abs(values[i]);
    offset += values.length;
  }
  all.sort();
  return all[Math.floor(total * percent)];
}

/**
 * Han et al.'s prune as the seed's cifar_prune.py does it: one global threshold over the |w| of all conv
 * kernels; a weight stays iff |w| > t (strict: ties with the threshold go). Masks are 0/1 by kernel name.
 */
export function magnitudeMasks(model: tf.LayersModel, percent: number): MaskSet {
  const kernels = convKernels(model);
  const threshold = magnitudeThreshold(kernels.map(([, w]) => w.read()), percent);
  return new Map(kernels.map(([name, w]) =>
    [name, tf.tidy(() => tf.cast(tf.greater(tf.abs(w.read()), threshold), 'float32'))]));
}

/**
 * The seed's scratch init (cifar_E.py): each masked conv kernel is re-drawn from N(0, sqrt(2/n)) with
 * n = (weights its mask keeps) / C_in, the fan-out the surviving weights give a filter, before the mask zeroes the
 * rest. A kernel that keeps nothing stays zero.
 */
export function sparseScratchInit(model: tf.LayersModel, masks: MaskSet | undefined, seed: number): void {
  if (!masks) return;
  convKernels(model).forEach(([name, weight], i) => {
    const mask = masks.get(name);
    if (!mask) return;
    const inChannels = weight.shape[2] as number;
    const kept = tf.tidy(() => tf.sum(mask).dataSync()[0]);
    const std = kept > 0 ? Math.sqrt(2 / (kept / inChannels)) : 0;
    weight.write(tf.tidy(() => tf.randomNormal(weight.shape as number[], 0, std, 'float32', seed * 1000 + i)));
  });
}
