/** @rethink-prune/core/training: Training: the loader and data sources, recipes, the SGD loop with hooks and exact resume, evaluation, latency. */
export { BatchLoader, type Batch, type LoaderOptions } from '../data/loader';
export { mixSeed, mulberry32, permutation } from '../data/rng';
export { cifarRecipe, fineTuneRecipe, imagenetRecipe, imagenetScratchBRecipe, learningRate, scratchBEpochs, type Recipe } from '../train/recipe';
export { Sgd } from '../train/sgd';
export { evaluate, type Evaluation } from '../train/evaluate';
export { NonFiniteLossError, readTrainResult, train, type EpochProgress, type StepContext, type TrainingHooks, type TrainOptions, type TrainResult } from '../train/loop';
export { identityMismatch } from '../train/run-key';
export { METRICS_FILE, metricsFile, readEpochMetrics, type EpochMetrics } from '../train/metrics-file';
export { inferenceLatencies, type LatencyOptions } from '../bench/latency';
export { BATCH as BENCH_BATCH, benchModel } from '../bench/bench-model';
export { imagenetRoot, loadTrainingData, splitSize, testBatches, trainBatches, trainingImages, type BatchStream, type TrainingData } from '../data/source';
export { PrefetchingLoader } from '../data/prefetch';
export { ImageFolderLoader } from '../data/image-folder-loader';
export { OwnedStateError, type OptimizerBuffer, type OwnedUpdate } from '../train/sgd';
