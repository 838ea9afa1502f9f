import * as tf from '@tensorflow/tfjs';
import type { StageTraining } from '@rethink-prune/core';

/** Every BN scale variable of a model (BatchNorm2d and BatchNorm1d alike), by its weight name. */
export function batchNormGammas(model: tf.LayersModel): Array<[string, tf.LayerVariable]> {
  return model.layers
    .filter((layer) => layer.getClassName() === 'BatchNormalization')
    .flatMap((layer) => layer.weights.filter((w) => w.originalName === `${layer.name}/gamma`))
    .map((w) => [w.originalName, w]);
}

/**
 * The seed's sparsity training (`main.py -sr`, `updateBN`): every step, the gradient of every BN γ gets
 * s·sign(γ) added (sign(0) = 0), the subgradient of s·Σ|γ|; momentum, weight decay and the LR then apply as to
 * any gradient. `s` goes into the baseline's run key.
 */
export function sparsityTraining(s: number): StageTraining {
  return {
    id: 'sparsity',
    params: { s },
    hooks: (model) => {
      const gammas = batchNormGammas(model);
      return { extraGradients: () => new Map(gammas.map(([name, v]) => [name, tf.mul(tf.sign(v.read()), s)])) };
    },
  };
}
