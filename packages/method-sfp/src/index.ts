export { sfpMethod, sfpRecipe } from './method';
export { filterL2Norms, softPrune, softPruneMasks, softPruneTraining, zeroedFilterCount } from './soft-prune';
export { parseRate, SFP_DEPTHS, SFP_VARIANTS, type SfpVariant } from './variants';
export { compactKeepSets, compactModel } from './compact';
export { sfpModels } from './models';
