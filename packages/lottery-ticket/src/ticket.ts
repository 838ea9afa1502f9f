import * as tf from '@tensorflow/tfjs';
import {
  applyMasks, convKernels, iterativeMagnitudeMasks, keptWeights, loadModelDir, pruneChannels, type ArchSpec,
  type KeepSets, type MaskSet,
} from '@rethink-prune/core';

/**
 * The seed's structured ticket in mask form (lottery_vggprune.py, lottery_resprune.py): every pruned group's
 * defining conv keeps its kept output filters (mask 1) and has the others zeroed (mask 0); the next layer's input
 * slices and the BN of a zeroed channel stay, as in the seed. Every other conv has a mask of ones, so that the masks'
 * sparsity is the share of all conv weights pruned.
 */
export function filterMasks(model: tf.LayersModel, keep: KeepSets): MaskSet {
  const kernels = new Map(convKernels(model));
  for (const conv of Object.keys(keep)) {
    if (!kernels.has(`${conv}/kernel`)) throw new Error(`filterMasks: the model has no conv kernel '${conv}/kernel'`);
  }
  return new Map([...kernels].map(([name, kernel]) => {
    const outChannels = kernel.shape[3] as number;
    const kept = keep[name.replace(/\/kernel$/, '')];
    const filters = new Float32Array(outChannels).fill(kept ? 0 : 1);
    for (const channel of kept ?? []) filters[channel] = 1;
    return [name, tf.tidy(() => tf.mul(tf.ones(kernel.shape as number[]), tf.tensor1d(filters)))];
  }));
}

/**
 * The next round's masks of iterative magnitude pruning: the share `rate` of the conv weights still non-zero in
 * `trained` goes (cifar_prune_iterative.py), and whatever an earlier round's masks removed stays removed.
 */
export function nextRoundMasks(trained: tf.LayersModel, rate: number, previous?: MaskSet): MaskSet {
  const masks = iterativeMagnitudeMasks(trained, rate);
  if (!previous) return masks;
  return new Map([...masks].map(([name, mask]) => {
    const earlier = previous.get(name);
    if (!earlier) return [name, mask];
    const nested = tf.mul(mask, earlier);
    mask.dispose();
    return [name, nested];
  }));
}

/** The share of all conv kernel weights that the masks zero (a conv without a mask keeps all of its weights). */
export function convSparsity(model: tf.LayersModel, masks: MaskSet): number {
  let total = 0;
  let kept = 0;
  for (const [name, kernel] of convKernels(model)) {
    const size = (kernel.shape as number[]).reduce((product, dim) => product * dim, 1);
    const mask = masks.get(name);
    total += size;
    kept += mask ? keptWeights(mask) : size;
  }
  return total === 0 ? 0 : 1 - kept / total;
}

/**
 * The winning ticket: the baseline's saved initial weights (every layer: conv, BN, linear, BN statistics), with the
 * pruned weights zeroed (the seed's lottery_ticket.py and main_lottery.py: init × (|w_pruned| > 0), no rescaling).
 * `compact`: the kept channels of the init cut out by surgery, instead of the full-size network with zeros.
 */
export async function rewind(
  initDir: string,
  pruned: { masks: MaskSet } | { spec: ArchSpec; keep: KeepSets },
): Promise<tf.LayersModel> {
  const init = await loadModelDir(initDir);
  if ('masks' in pruned) {
    applyMasks(init.model, pruned.masks);
    return init.model;
  }
  const compact = pruneChannels(init.model, pruned.spec, pruned.keep).model;
  init.model.dispose();
  return compact;
}
