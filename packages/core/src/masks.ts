import * as tf from '@tensorflow/tfjs';
import { UnknownWeightError } from './errors';

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

/** Fraction of masked weights that are zero, over all masks. */
export function maskSparsity(masks: MaskSet): number {
  let zeros = 0;
  let total = 0;
  for (const m of masks.values()) {
    total += m.size;
    zeros += m.size - tf.tidy(() => tf.sum(m).dataSync()[0]);
  }
  return total === 0 ? 0 : zeros / total;
}
