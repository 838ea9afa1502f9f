export { weightLevelMethod } from './method';
/** The magnitude prune lives in core (lottery tickets use it too); re-exported here as before. */
export { iterativeMagnitudeMasks, magnitudeMasks, magnitudeThreshold, remainingThreshold } from '@rethink-prune/core';
export { parsePercent, PERCENTS, tableVariants, WEIGHT_LEVEL_MODELS, WEIGHT_LEVEL_VARIANTS, type WeightLevelVariant } from './variants';
export { weightLevelModels } from './models';
