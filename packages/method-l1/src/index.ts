export { filterL1Norms, l1KeepSets, largest, pruneByL1Norm } from './prune';
export { keptFilters, L1_VARIANTS, l1Variant, targetWidths, type L1Variant, type ResNetTarget, type VggTarget } from './variants';
export { ALL_MODELS, DEFAULT_MODELS, l1Experiment, paperNumbers, reproduce, type ReproduceOptions } from './reproduce';
