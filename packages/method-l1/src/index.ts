export { filterL1Norms, l1KeepSets, largest, pruneByL1Norm } from './prune';
export { keptFilters, L1_VARIANTS, l1Variant, targetWidths, type L1Variant, type ResNetTarget, type VggTarget } from './variants';
export { CIFAR_VARIANTS, IMAGENET_VARIANTS, l1Method } from './method';
