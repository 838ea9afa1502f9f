import * as tf from '@tensorflow/tfjs';
import { convKernels, type MaskSet } from './masks';

/**
 * Magnitude pruning of conv weights (Han et al., as the seed's weight-level and lottery-ticket folders do it): one
 * global threshold over every conv kernel's |w|, one-shot or as a round of iterative pruning.
 */

/** Every |w| of the kernels, ascending. */
function sortedMagnitudes(kernels: tf.Tensor[]): Float32Array {
  const all = new Float32Array(kernels.reduce((sum, k) => sum + k.size, 0));
  let offset = 0;
  for (const kernel of kernels) {
    const values = kernel.dataSync();
    for (let i = 0; i < values.length; i++) all[offset + i] = Math.abs(values[i]);
    offset += values.length;
  }
  return all.sort();
}

/** The seed's threshold over weights: sort all |w| ascending and take the one at index int(total · percent). */
export function magnitudeThreshold(kernels: tf.Tensor[], percent: number): number {
  const all = sortedMagnitudes(kernels);
  return all[Math.floor(all.length * percent)];
}

/**
 * The threshold of the lottery-ticket folder's cifar_prune_iterative.py: over all |w| ascending (zeros first), the
 * one at index (#zeros) + int(#non-zero · rate), so a round removes the share `rate` of the weights still there.
 */
export function remainingThreshold(kernels: tf.Tensor[], rate: number): number {
  const all = sortedMagnitudes(kernels);
  const zeros = all.findIndex((value) => value > 0);
  const firstNonZero = zeros === -1 ? all.length : zeros;
  return all[firstNonZero + Math.floor((all.length - firstNonZero) * rate)];
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
 * One round of iterative magnitude pruning (cifar_prune_iterative.py): removes the share `rate` of the conv weights
 * that are still non-zero, by one global threshold (keep |w| > t). Weights already zero (an earlier round's) stay
 * pruned, so the masks of successive rounds are nested.
 */
export function iterativeMagnitudeMasks(model: tf.LayersModel, rate: number): MaskSet {
  const kernels = convKernels(model);
  const threshold = remainingThreshold(kernels.map(([, w]) => w.read()), rate);
  return new Map(kernels.map(([name, w]) =>
    [name, tf.tidy(() => tf.cast(tf.greater(tf.abs(w.read()), threshold), 'float32'))]));
}
