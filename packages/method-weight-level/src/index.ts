export { weightLevelMethod } from './method';
export { magnitudeMasks, magnitudeThreshold } from './prune';
export { parsePercent, PERCENTS, tableVariants, WEIGHT_LEVEL_MODELS, WEIGHT_LEVEL_VARIANTS, type WeightLevelVariant } from './variants';
