export { apgHook, apgStep, ApgLengthError, ApgStateError, softThreshold } from './apg';
export { blockFactors, sssMethod } from './method';
export { SSS_GAMMAS, SSS_VARIANTS, type SssVariant } from './variants';
export { sssModels, SSS_UNITS } from './models';
