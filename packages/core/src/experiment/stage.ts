import * as fs from 'fs';
import type * as tf from '@tensorflow/tfjs';
import type { TrainingData } from '../data/source';
import { StaleStageError } from '../errors';
import type { MaskSet } from '../pruning/masks';
import type { ArchSpec } from '../spec';
import {
  dataExamples, readTrainResult, train, trainRunKey, type TrainingHooks, type TrainOptions, type TrainResult,
} from '../train/loop';
import type { Recipe } from '../train/recipe';
import { cachedStage } from './cached-stage';
import { copyStage, findReusable } from './reuse';
import { claimTraining } from './training-claim';

/** One training stage of an experiment: where it runs, its run key, and how its model starts. */
export interface StageJob {
  dir: string;
  identity: Record<string, unknown>;
  spec: ArchSpec;
  recipe: Recipe;
  seed: number;
  makeModel: () => Promise<tf.LayersModel> | tf.LayersModel;
  /** Hooks for the stage's training (a method's penalty, filters zeroed each epoch). */
  hooks?(model: tf.LayersModel): TrainingHooks;
  /** Weights kept at zero through training (unstructured pruning, mask-form tickets). */
  masks?: MaskSet;
  /** Printed with the progress (`l1-norm vgg16-A finetune`). */
  label: string;
  /** Keep the state after this many epochs, for a stage whose first epochs are this one's (TrainOptions.keepStateAfter). */
  keepStateAfter?: number;
  /**
   * A stage whose first `epochs` epochs are this one's (Scratch-E's, for Scratch-B): where it kept its state after them,
   * this stage starts from it (TrainOptions.startFrom).
   */
  startFrom?: { job: Pick<StageJob, 'dir' | 'identity' | 'spec' | 'recipe' | 'seed'>; epochs: number };
}

export interface StageOptions {
  data: TrainingData;
  limit: { train?: number; test?: number };
  /** Train a stage whose run key changed again, instead of stopping with a StaleStageError. */
  fresh: boolean;
  /** Told each stage's epochs as it trains (TrainOptions.onEpoch). */
  onEpoch?: TrainOptions['onEpoch'];
  /** Stops a stage's training before its next step (TrainOptions.signal). */
  signal?: AbortSignal;
  /** Run directories of other runs whose finished stages of the same training are copied, not trained (reuse.ts). */
  reuseFrom?: readonly string[];
  /** A stage another process is training now: wait for it, then copy it (default), or stop (training-claim.ts). */
  ifTrainingElsewhere?: 'wait' | 'exit';
}

/**
 * Runs one stage, or reuses it (cachedStage): a finished stage is returned when its run key matches, refused as stale
 * when it does not (or, with `fresh`, trained again); an interrupted one resumes from its checkpoint.
 */
export async function runStage(job: StageJob, o: StageOptions): Promise<TrainResult> {
  const finished = () => {
    const done = readTrainResult(job.dir) ?? copiedStage(job, o);
    return done && { identity: done.identity, reuse: () => done };
  };
  return cachedStage({ dir: job.dir, identity: job.identity, fresh: o.fresh, finished, run: () => claimedTraining(job, o) });
}

/**
 * Trains a stage that neither its directory nor another run has finished, claiming it first (training-claim.ts): a
 * run beside this one that is training the same now is waited for, and its stage then copied.
 */
async function claimedTraining(job: StageJob, o: StageOptions): Promise<TrainResult> {
  const release = await claimTraining(o.reuseFrom ?? [], job.dir, job.identity, dataExamples(o.data), {
    signal: o.signal,
    label: job.label,
    ...(o.ifTrainingElsewhere ? { ifHeld: o.ifTrainingElsewhere } : {}),
    onWait: (holder) => process.stderr.write(`${job.label}: waiting for process ${holder.pid}, which is training ` +
      `the same in ${holder.dir} (since ${holder.started}), to finish; then its result is taken\n`),
  });
  try {
    return copiedStage(job, o) ?? await trainStage(job, o);
  } finally {
    release();
  }
}

/** The same training finished under another run, copied to the stage's directory; undefined where there is none. */
function copiedStage(job: StageJob, o: StageOptions): TrainResult | undefined {
  const roots = o.reuseFrom ?? [];
  const source = roots.length > 0 ? findReusable(roots, job.dir, job.identity, dataExamples(o.data)) : undefined;
  if (!source || !copyStage(source, job.dir, job.identity)) return undefined;
  process.stderr.write(`${job.label}: copied from ${source}, the same training\n`);
  return readTrainResult(job.dir);
}

async function trainStage(job: StageJob, o: StageOptions): Promise<TrainResult> {
  const model = await job.makeModel();
  const hooks: TrainingHooks = { ...job.hooks?.(model), ...(job.masks ? { masks: job.masks } : {}) };
  try {
    return await train({
      model,
      spec: job.spec,
      data: o.data,
      recipe: job.recipe,
      seed: job.seed,
      runDir: job.dir,
      limit: o.limit,
      hooks,
      identity: job.identity,
      label: job.label,
      onEpoch: o.onEpoch,
      signal: o.signal,
      keepStateAfter: job.keepStateAfter,
      ...(job.startFrom ? { startFrom: { runDir: job.startFrom.job.dir, epochs: job.startFrom.epochs,
        runKey: trainRunKey({ ...job.startFrom.job, data: o.data, limit: o.limit }) } } : {}),
    });
  } catch (e) {
    // A checkpoint of another run: with --fresh, start the stage over.
    if (!(o.fresh && e instanceof StaleStageError)) throw e;
  } finally {
    model.dispose();
  }
  fs.rmSync(job.dir, { recursive: true, force: true });
  return trainStage(job, o);
}
