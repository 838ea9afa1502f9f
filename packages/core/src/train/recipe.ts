/**
 * Training recipes of the seed repository as named presets, and the step learning-rate schedule.
 * CIFAR (main.py, main_E.py): SGD momentum 0.9, weight decay 1e-4, batch 64, LR 0.1 ÷10 at 50% and 75% of
 * 160 epochs. Fine-tune (main_finetune.py): 40 epochs at a constant LR 0.001. ImageNet: batch 256, LR 0.1
 * ÷10 every 30 of 90 epochs. Scratch-B (main_B.py): int(epochs × FLOPs(full)/FLOPs(pruned)) with its
 * milestones at int(50%) and int(75%) of the longer schedule.
 */
export interface Recipe {
  epochs: number;
  batchSize: number;
  lr: number;
  momentum: number;
  weightDecay: number;
  /** Epochs (0-based) at whose start the LR is multiplied by `gamma`. */
  milestones: number[];
  gamma: number;
}

export function cifarRecipe(epochs = 160): Recipe {
  // Milestones at epoch 0 (runs of one epoch) would only shrink the LR from the start; they are dropped.
  const milestones = [Math.floor(epochs * 0.5), Math.floor(epochs * 0.75)].filter((m) => m > 0);
  return { epochs, batchSize: 64, lr: 0.1, momentum: 0.9, weightDecay: 1e-4, milestones, gamma: 0.1 };
}

export function fineTuneRecipe(epochs = 40): Recipe {
  return { epochs, batchSize: 64, lr: 0.001, momentum: 0.9, weightDecay: 1e-4, milestones: [], gamma: 0.1 };
}

export function imagenetRecipe(epochs = 90): Recipe {
  const milestones: number[] = [];
  for (let e = 30; e < epochs; e += 30) milestones.push(e);
  return { epochs, batchSize: 256, lr: 0.1, momentum: 0.9, weightDecay: 1e-4, milestones, gamma: 0.1 };
}

/** Scratch-B: the same compute as the baseline, int(epochs × FLOPs(full) / FLOPs(pruned)) epochs. */
export function scratchBEpochs(baselineEpochs: number, fullFlops: number, prunedFlops: number): number {
  if (!(prunedFlops > 0) || !(fullFlops > 0)) throw new Error(`FLOPs must be positive (full ${fullFlops}, pruned ${prunedFlops})`);
  return Math.floor(baselineEpochs * (fullFlops / prunedFlops));
}

export function learningRate(recipe: Recipe, epoch: number): number {
  return recipe.lr * recipe.gamma ** recipe.milestones.filter((m) => epoch >= m).length;
}
