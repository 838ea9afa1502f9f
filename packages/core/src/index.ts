export * from './backend';
export { RunDirError, SpecError, StaleStageError, UnknownWeightError } from './errors';
export { DATASET_SHAPES, isDatasetName, type DatasetName, type DatasetShape } from './datasets-info';
export { ARCHS, buildModel, namedSpec, validateSpec, type ArchSpec, type DenseNetSpec, type ImageNetResNetSpec, type ImageNetVggSpec, type PreResNetImageNetSpec, type PreResNetSpec, type ResNetSpec, type VggSpec } from './spec';
export {
  defaultPreResNetCfg, PRERESNET_PLANES, preresnetBlocksPerStage, preresnetPlanesOf, preresnetSelections,
  type PreResNetSelection,
} from './models/preresnet';
export { FAMILIES, familyOf } from './models/registry';
export type { ArchFamily } from './models/family';
export { defaultDenseNetCfg, densenetUnits, type DenseUnit } from './models/densenet';
export { IMAGENET_VGG_CFGS } from './models/vgg-imagenet';
export { defaultImageNetResNetCfg, imagenetBlocks, IMAGENET_RESNET_LAYERS, planesOf } from './models/resnet-imagenet';
export { VGG_CFGS, vggBnName, vggConvName, type VggCfg } from './models/vgg';
export { defaultResNetCfg, resnetBlockName, resnetBlocksPerStage, RESNET_STAGE_WIDTHS } from './models/resnet';
export { countModel, countSpec, type Counts } from './pruning/counting';
export { channelGroups, residualTies, withWidths, type ChannelGroup, type ChannelMember, type MemberKind, type TiedChannels } from './pruning/graph';
export { pruneChannels, type KeepSets } from './pruning/surgery';
export { applyMasks, convKernels, keptWeights, maskSparsity, namedWeights, sparseScratchInit, type MaskSet } from './pruning/masks';
export { loadModelDir, readModelSpec, saveModelDir, ModelDirError, MODEL_JSON, SPEC_JSON, WEIGHTS_BIN, type LoadedModel } from './model-io';
export { writeFileAtomic } from './fs-atomic';
export { BatchLoader, type Batch, type LoaderOptions } from './data/loader';
export { mixSeed, mulberry32, permutation } from './data/rng';
export { cifarRecipe, fineTuneRecipe, imagenetRecipe, imagenetScratchBRecipe, learningRate, scratchBEpochs, type Recipe } from './train/recipe';
export { Sgd } from './train/sgd';
export { evaluate, type Evaluation } from './train/evaluate';
export { NonFiniteLossError, readTrainResult, train, type EpochProgress, type StepContext, type TrainingHooks, type TrainOptions, type TrainResult } from './train/loop';
export { narrow, narrowSpec } from './widths';
export {
  OVERRIDABLE,
  PROFILES,
  profileByName,
  profileLabel,
  withOverrides,
  type Profile,
  type ProfileName,
  type ProfileOverrides,
} from './profiles';
export { experiments, RESULT_COLUMNS, resultsCsv, resultsMarkdown, summaryRows, type ResultColumn, type ResultRow } from './results';
export {
  methodVariant, UnknownVariantError, type MethodDefinition, type MethodVariant, type PruneContext, type Pruner,
  type Reconstruction, type StageRecipes, type Transformed, type StageTraining,
} from './experiment/method';
export { paperNumbers, readReference, ReferenceError, type PaperNumbers, type PrintedDeltas, type ReferenceRow } from './experiment/reference';
export { relativeMarkdown } from './experiment/relative-report';
export { experimentRecipes, imagenetProportionalRecipes, withInitialLr } from './experiment/recipes';
export { scaleTargets, TargetWidthError } from './pruning/targets';
export { identityMismatch } from './train/run-key';
export { cachedStage, type CachedStage } from './experiment/cached-stage';
export { runStage, type StageJob, type StageOptions } from './experiment/stage';
export {
  convAxis, layerActivation, LayerChoiceError, pruneLayerByLayer, reconstructableLayers, type LayerStep, type ReconstructableLayer,
} from './pruning/reconstruction';
export { importEsm } from './import-esm';
export { mean, median, sampleStd } from './stats';
export { NothingPrunedError, pruneModel, PRUNE_JSON, type PruneExtras, type PruneRecord, type PrunedModel } from './experiment/prune-stage';
export { inferenceLatencies, type LatencyOptions } from './bench/latency';
export { experimentSpecs, LATENCY_JSON, runExperiment, type ExperimentData, type ExperimentOptions } from './experiment/run';
export {
  STAGE_GRAPH,
  STAGES,
  stageNeeds,
  type GraphStage,
  type StageName,
  type TrainedStage,
} from './experiment/stage-graph';
export { checkGrid, resultsBase, runGrid, widthsPath, type GridOptions } from './experiment/grid';
export { layerWidthLines, layerWidths, maskedCounts, sparsityLines, widthsMarkdown, type LayerWidth } from './experiment/widths-report';
export { loadQueueLink, methodPackageName, QUEUE_PACKAGE, requireInstalled, type EnqueueRequest, type EnqueueSummary, type QueueLink } from './experiment/queue-link';
export { parseShare, reproduceRequest, runMethodCli, UsageError, USAGE_EXIT_CODE } from './experiment/cli';
export { imagenetRoot, loadTrainingData, splitSize, testBatches, trainBatches, trainingImages, type BatchStream, type TrainingData } from './data/source';
export { PrefetchingLoader } from './data/prefetch';
export { ImageFolderLoader } from './data/image-folder-loader';
export { OwnedStateError, type OptimizerBuffer, type OwnedUpdate } from './train/sgd';
export {
  BLOCK_SCALE_SUFFIX, BlockScale, resnetBlocks, resnetLayerCount, resnetStageBlocks, shortcutChangesShape,
  type ResNetBlock,
} from './models/resnet';
export { BlockRemovalError, foldBlockScales, removeBlocks } from './pruning/block-removal';
export { traceModel, UnsupportedLayerError, type TracedGroup, type TracedMember, type TracedRole, type TraceOptions } from './trace/traced-graph';
export { paramCount, pruneTracedModel, tracedKeepSets, type TracedCriterion, type TracedKeepSets, type TracedPruneOptions } from './trace/prune-traced';
