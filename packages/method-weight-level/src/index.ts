export { weightLevelMethod } from './method';
export { iterativeMagnitudeMasks, magnitudeMasks, magnitudeThreshold, remainingThreshold } from './prune';
export { parsePercent, PERCENTS, tableVariants, WEIGHT_LEVEL_MODELS, WEIGHT_LEVEL_VARIANTS, type WeightLevelVariant } from './variants';
