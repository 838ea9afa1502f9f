import * as tf from '@tensorflow/tfjs';
import { channelGroups, pruneChannels, type ArchSpec, type KeepSets } from '@rethink-prune/core';

/** L1 norm of each output filter of an NHWC conv kernel [kh, kw, in, out]. */
export function filterL1Norms(kernel: tf.Tensor): Float32Array {
  if (kernel.rank !== 4) throw new Error(`expected a conv kernel of rank 4, got shape ${JSON.stringify(kernel.shape)}`);
  return tf.tidy(() => tf.sum(tf.abs(kernel), [0, 1, 2]).dataSync() as Float32Array);
}

/** Indices of the `k` largest values, in ascending index order (ties keep the lower index). */
export function largest(values: ArrayLike<number>, k: number): number[] {
  if (!Number.isInteger(k) || k < 1 || k > values.length) throw new Error(`cannot keep ${k} of ${values.length} filters`);
  const order = Array.from({ length: values.length }, (_, i) => i).sort((a, b) => values[b] - values[a] || a - b);
  return order.slice(0, k).sort((a, b) => a - b);
}

/**
 * Li et al.'s criterion: in every group whose target width is smaller than its width, keep the filters of
 * the defining conv with the largest L1 norms; the dependency graph and surgery do the rest.
 */
export function l1KeepSets(model: tf.LayersModel, spec: ArchSpec, widths: Map<string, number>): KeepSets {
  const keep: KeepSets = {};
  for (const g of channelGroups(spec)) {
    const target = widths.get(g.id);
    if (target === undefined || target >= g.size) continue;
    keep[g.id] = largest(filterL1Norms(model.getLayer(g.id).getWeights()[0]), target);
  }
  return keep;
}

export function pruneByL1Norm(model: tf.LayersModel, spec: ArchSpec, widths: Map<string, number>): { spec: ArchSpec; model: tf.LayersModel; keep: KeepSets } {
  const keep = l1KeepSets(model, spec, widths);
  return { ...pruneChannels(model, spec, keep), keep };
}
