export { slimmingMethod } from './method';
export { batchNormGammas, sparsityTraining } from './sparsity';
export { globalThreshold, groupScales, NoBatchNormError, slimmingKeepSets, type GroupScales, type SlimmingPrune } from './threshold';
export { parsePercent, SLIMMING_VARIANTS, tableVariants, type SlimmingVariant } from './variants';
export { slimmingModels } from './models';
