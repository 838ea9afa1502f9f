import * as tf from '@tensorflow/tfjs';
import { convKernels, type MaskSet } from '@rethink-prune/core';

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
