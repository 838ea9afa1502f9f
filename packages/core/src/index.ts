/**
 * @rethink-prune/core: everything, or by concern from its sub-paths (`@rethink-prune/core/models`, `/pruning`,
 * `/training`, `/experiment`), each a smaller list of names.
 */
export * from './backend';
export {
  RunDirError, SpecError, StaleStageError, TRAINING_ELSEWHERE_EXIT_CODE, TrainingElsewhereError, UnknownWeightError,
} from './errors';
export { writeFileAtomic } from './fs-atomic';
export { importEsm } from './import-esm';
export { CHART_FONT, vegaLiteSvg } from './chart';
export { mean, median, sampleStd } from './stats';
export * from './api/models';
export * from './api/pruning';
export * from './api/training';
export * from './api/experiment';
