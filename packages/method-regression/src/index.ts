export { REGRESSION_IMAGES, regressionMethod, SAMPLES_PER_IMAGE } from './method';
export { regressionPrune, type LayerReport, type RegressionOptions } from './prune';
export * from './lasso';
export * from './regression';
export { parseKeepRatio, REGRESSION_VARIANTS, VGG16_5X, type RegressionVariant } from './variants';
