/**
 * Training recipes of the seed repository as named presets, and the step learning-rate schedule.
 * CIFAR (main.py, main_E.py): SGD momentum 0.9, weight decay 1e-4, batch 64, LR 0.1 ÷10 at 50% and 75% of
 * 160 epochs. Fine-tune (main_finetune.py): 40 epochs at a constant LR 0.001. ImageNet: batch 256, LR 0.1
 * ÷10 every 30 of 90 epochs. Scratch-B (main_B.py): int(epochs × FLOPs(full)/FLOPs(pruned)) with its
 * milestones at int(50%) and int(75%) of the longer schedule. ImageNet (imagenet/l1-norm-pruning): fine-tune 20
 * epochs at LR 0.001; Scratch-B (main_B.py) 180 epochs with LR steps every 60 when FLOPs(full)/FLOPs(pruned) ≥ 2,
 * else int(90 × ratio) epochs with steps every third of them.
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
  /** One factor per milestone instead of `gamma` (SFP's `--gammas 10 0.2 0.2 0.2`). */
  gammas?: number[];
  /** Nesterov momentum (SFP's scripts); absent: plain momentum, as every other folder. */
  nesterov?: boolean;
}

export function cifarRecipe(epochs = 160): Recipe {
  // Milestones at epoch 0 (runs of one epoch) would only shrink the LR from the start; they are dropped.
  // The seed lowers the LR once at an epoch in its schedule, even where E/2 and 3E/4 round to the same epoch.
  const milestones = [...new Set([Math.floor(epochs * 0.5), Math.floor(epochs * 0.75)])].filter((m) => m > 0);
  return { epochs, batchSize: 64, lr: 0.1, momentum: 0.9, weightDecay: 1e-4, milestones, gamma: 0.1 };
}

export function fineTuneRecipe(epochs = 40): Recipe {
  return { epochs, batchSize: 64, lr: 0.001, momentum: 0.9, weightDecay: 1e-4, milestones: [], gamma: 0.1 };
}

export function imagenetRecipe(epochs = 90, stepSize = 30): Recipe {
  const milestones: number[] = [];
  if (stepSize > 0) for (let e = stepSize; e < epochs; e += stepSize) milestones.push(e);
  return { epochs, batchSize: 256, lr: 0.1, momentum: 0.9, weightDecay: 1e-4, milestones, gamma: 0.1 };
}

/**
 * ImageNet Scratch-B for a baseline of `baselineEpochs` (the seed's 90): twice the epochs, LR steps every
 * third, when the pruned model needs at most half the FLOPs; otherwise int(epochs × ratio), steps every third.
 */
export function imagenetScratchBRecipe(baselineEpochs: number, fullFlops: number, prunedFlops: number): Recipe {
  const proportional = scratchBEpochs(baselineEpochs, fullFlops, prunedFlops); // also checks the FLOPs
  const epochs = fullFlops / prunedFlops >= 2 ? 2 * baselineEpochs : proportional;
  return imagenetRecipe(epochs, Math.floor(epochs / 3));
}

/** Scratch-B: the same compute as the baseline, int(epochs × FLOPs(full) / FLOPs(pruned)) epochs. */
export function scratchBEpochs(baselineEpochs: number, fullFlops: number, prunedFlops: number): number {
  if (!(prunedFlops > 0) || !(fullFlops > 0)) throw new Error(`FLOPs must be positive (full ${fullFlops}, pruned ${prunedFlops})`);
  return Math.floor(baselineEpochs * (fullFlops / prunedFlops));
}

/** The LR of an epoch: the base LR times the factor of every milestone reached (`gammas[i]`, else `gamma`). */
export function learningRate(recipe: Recipe, epoch: number): number {
  return recipe.milestones.reduce((lr, m, i) => (epoch >= m ? lr * (recipe.gammas?.[i] ?? recipe.gamma) : lr), recipe.lr);
}

/**
 * How many first epochs two recipes train alike: none where anything but their length and LR steps differs (batch,
 * base LR, momentum, weight decay, Nesterov), else every epoch before the first whose LR differs, at most the shorter
 * run's. Scratch-B and Scratch-E of one pruned network (one init, one data order) are the same training until then.
 */
export function sharedEpochs(first: Recipe, second: Recipe): number {
  const alike = (['batchSize', 'lr', 'momentum', 'weightDecay'] as const).every((f) => first[f] === second[f]) &&
    (first.nesterov ?? false) === (second.nesterov ?? false);
  if (!alike) return 0;
  const shorter = Math.min(first.epochs, second.epochs);
  for (let epoch = 0; epoch < shorter; epoch++) {
    if (learningRate(first, epoch) !== learningRate(second, epoch)) return epoch;
  }
  return shorter;
}
