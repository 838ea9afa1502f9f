export { SAMPLES_PER_IMAGE, THINET_IMAGES, thinetMethod } from './method';
export { thinetPrune, type LayerReport, type ThinetOptions } from './prune';
export { greedyRemoval, leastSquaresScales, sampleContributions, thinetSelect } from './thinet';
export { parseKeepRatio, THINET_VARIANTS, type ThinetVariant } from './variants';
export { THINET_ARCHITECTURE_NAMES, THINET_ARCHITECTURES, THINET_REFERENCES, type ThiNetArchitecture } from './architectures';
