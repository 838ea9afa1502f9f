/** @rethink-prune/core/experiment: The method framework: method definitions, profiles, the stage graph and its cached-stage runner, the experiment, the grid, the CLI, results. */
export {
  OVERRIDABLE,
  PROFILES,
  profileByName,
  profileLabel,
  withOverrides,
  type Profile,
  type ProfileName,
  type ProfileOverrides,
} from '../profiles';
export { experiments, RESULT_COLUMNS, resultsCsv, resultsMarkdown, summaryRows, type ResultColumn, type ResultRow } from '../results';
export {
  isMethodDefinition, methodVariant, UnknownVariantError, variantPruner, type MethodDefinition, type MethodReport, type MethodVariant,
  type PruneContext, type Pruner, type Reconstruction, type ScratchStart, type StageRecipes, type Transformed,
  type StageTraining,
} from '../experiment/method';
export { paperNumbers, readReference, ReferenceError, type PaperNumbers, type PrintedDeltas, type ReferenceRow } from '../experiment/reference';
export { relativeMarkdown } from '../experiment/relative-report';
export { experimentRecipes, imagenetProportionalRecipes, withInitialLr } from '../experiment/recipes';
export { cachedStage, type CachedStage } from '../experiment/cached-stage';
export { runStage, type StageJob, type StageOptions } from '../experiment/stage';
export { NothingPrunedError, pruneModel, PRUNE_JSON, type PruneExtras, type PruneRecord, type PrunedModel } from '../experiment/prune-stage';
export {
  experimentSpecs, LATENCY_JSON, runExperiment, scratchSeed, type ExperimentData, type ExperimentOptions,
} from '../experiment/run';
export {
  STAGE_GRAPH,
  STAGES,
  stageNeeds,
  type GraphStage,
  type StageName,
  type TrainedStage,
} from '../experiment/stage-graph';
export { checkGrid, gridLearningRates, methodReportBase, resultsBase, runGrid, widthsPath, type GridOptions } from '../experiment/grid';
export { layerWidthLines, layerWidths, maskedCounts, sparsityLines, widthsMarkdown, type LayerWidth } from '../experiment/widths-report';
export { loadQueueLink, methodPackageName, QUEUE_PACKAGE, requireInstalled, type EnqueueRequest, type EnqueueSummary, type QueueLink } from '../experiment/queue-link';
export { parseShare, reproduceRequest, runMethodCli } from '../experiment/cli';
export { BACKEND_NAMES, checkBackendName, describeBackend, startBackend, UsageError, USAGE_EXIT_CODE } from '../cli-kit';
