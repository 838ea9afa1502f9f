import * as fs from 'fs';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs';
import { activeBackend } from '../backend';
import { splitSize, testBatches, trainBatches, type TrainingData } from '../data/source';
import { RunDirError, StaleStageError, UnknownWeightError } from '../errors';
import { readJsonFile, writeFileAtomic } from '../fs-atomic';
import { applyMasks, type MaskSet } from '../pruning/masks';
import { saveModelDir } from '../model-io';
import type { ArchSpec } from '../spec';
import { CHECKPOINT_DIRS, readCheckpoint, writeCheckpoint, type LoopState, type SharedStart } from './checkpoint';
import { evaluate, forwardInTraining, type Evaluation } from './evaluate';
import { Progress } from './progress';
import { appendEpochMetrics, keepMetricsHead, metricsFile } from './metrics-file';
import { learningRate, type Recipe } from './recipe';
import { differingField } from './run-key';
import { keepState, startFromKept, type StartFrom } from './shared-start';
import { gradientsByWeightName, Sgd, trainableVariables, type OwnedUpdate } from './sgd';
import { collectInitialValues } from './collect-garbage';
import { variableGrads } from './gradients';

/** What a method may add to training; every hook is optional. */
export interface TrainingHooks {
  /** Once before the first step of a fresh run, not on resume (SFP's masks on the initial weights). */
  beforeTraining?(model: tf.LayersModel): void | Promise<void>;
  /** Extra gradient terms by weight name (`layer/weight`), added before the step (slimming's L1 on γ). */
  extraGradients?(model: tf.LayersModel): Map<string, tf.Tensor>;
  /** After every optimiser step (SFP zeroing filters). */
  afterStep?(ctx: StepContext): void;
  /**
   * After every epoch, before evaluation; `forwardTraining(n)` runs the epoch's first n batches forward in training
   * mode, with no step, so that BN's moving statistics follow weights the hook changed.
   */
  afterEpoch?(ctx: StepContext & { forwardTraining(batches: number): Promise<void> }): void | Promise<void>;
  /**
   * 0/1 masks by weight name (unstructured pruning, lottery tickets): applied to the weights before training,
   * then each gradient is multiplied by its mask before every step, as the seed's cifar_finetune.py does, so
   * masked weights and their momentum stay exactly 0.
   */
  masks?: MaskSet;
  /**
   * Weights whose update the method owns (SSS's proximal step on λ): no SGD momentum or weight decay on them;
   * after SGD's step they get their gradient and the scheduled LR; the update's state is checkpointed.
   */
  ownUpdate?: OwnedUpdate;
}

export interface StepContext {
  model: tf.LayersModel;
  epoch: number;
  step: number;
  lr: number;
}

export class NonFiniteLossError extends Error {
  constructor(readonly epoch: number, readonly batch: number, what: string) {
    super(`training ${what} at epoch ${epoch}, batch ${batch}; the last good checkpoint is kept. ` +
      'Lower the learning rate or check the data.');
    this.name = 'NonFiniteLossError';
  }
}

function allFinite(model: tf.LayersModel): boolean {
  return tf.tidy(() => model.weights.every((weight) => tf.all(tf.isFinite(weight.read())).dataSync()[0] === 1));
}

export interface TrainOptions {
  model: tf.LayersModel;
  spec: ArchSpec;
  data: TrainingData;
  recipe: Recipe;
  seed: number;
  /** Holds checkpoint/, best/, final/, metrics.jsonl and result.json; a finished run is not repeated. */
  runDir: string;
  hooks?: TrainingHooks;
  limit?: { train?: number; test?: number };
  /** Checkpoint after this many steps as well as after every epoch (default 200). */
  checkpointSteps?: number;
  label?: string;
  progress?: boolean;
  /**
   * What produced this run (method, variant, spec, recipe, profile, seed, hooks, pruner version; the caller
   * decides): part of the checkpoint's run key and written to result.json.
   */
  identity?: Record<string, unknown>;
  /** Told where training stands: once at the start (epoch 0, or where it resumes) and after every epoch's checkpoint. */
  onEpoch?(progress: EpochProgress): void;
  /** Stops training before the next step, with the signal's reason (a queue worker that lost its job's lock). */
  signal?: AbortSignal;
  /**
   * Keep the checkpoint after this many epochs (`after-epoch-<n>/`, with the best model and the metrics so far) for a
   * run whose first epochs are this one's (shared-start.ts: Scratch-B's are Scratch-E's).
   */
  keepStateAfter?: number;
  /**
   * Where the run has no checkpoint yet, start from the state another run kept after the epochs they share (its
   * `keepStateAfter`; `runKey`: trainRunKey of its options); without one, train from the first epoch.
   */
  startFrom?: StartFrom;
}

let lastTurn = Date.now();
/**
 * Gives the event loop a turn at most every 100 ms: the batch loop's awaits alone are microtasks, so without this no
 * timer runs during an epoch (a queue worker's lock renewal, a progress bar's refresh).
 */
async function letTimersRun(): Promise<void> {
  if (Date.now() - lastTurn < 100) return;
  await new Promise((resolve) => setImmediate(resolve));
  lastTurn = Date.now();
}

/** A training run's place, for progress shown outside the process (the queue's `status`). */
export interface EpochProgress {
  label: string;
  /** Epochs finished. */
  epoch: number;
  epochs: number;
  /** Test top-1 (%) after the last finished epoch, when one has finished in this process. */
  top1?: number;
}

export interface TrainResult {
  bestTop1: number;
  bestEpoch: number;
  final: Evaluation;
  epochs: number;
  trainSeconds: number;
  imagesPerSecond: number;
  backend: string;
  threads: number;
  /** The native convolution library the wasm backend used, if any. */
  nativeConv?: string;
  /** The caller's identity of the run (TrainOptions.identity). */
  identity?: Record<string, unknown>;
  /** The sizes of the data it trained and was tested on (before any limit), which the identity names only. */
  examples?: { train: number; test: number };
  /** Its first epochs were another run's (TrainOptions.startFrom): their seconds are in `trainSeconds` too. */
  sharedStart?: SharedStart;
}

const RESULT = 'result.json';

/** The result of a finished run (result.json), or undefined when the run has not finished. */
export function readTrainResult(runDir: string): TrainResult | undefined {
  const file = path.join(runDir, RESULT);
  if (!fs.existsSync(file)) return undefined;
  const result = readJsonFile(file, (problem) => new RunDirError(file, problem)) as Partial<TrainResult> | null;
  if (typeof result?.bestTop1 !== 'number' || typeof result.final?.top1 !== 'number') {
    throw new RunDirError(file, 'is not a training result (no numeric bestTop1 and final.top1); ' +
      'delete it to train again');
  }
  return result as TrainResult;
}

/** The sizes of a data set's two splits, before any limit. */
export const dataExamples = (data: TrainingData) => ({ train: splitSize(data, 'train'), test: splitSize(data, 'test') });

/** What makes two runs the same run; a checkpoint or result of another run is refused. */
export function trainRunKey(o: Pick<TrainOptions, 'spec' | 'recipe' | 'seed' | 'limit' | 'data' | 'identity'>):
  Record<string, unknown> {
  return { spec: o.spec, recipe: o.recipe, seed: o.seed, limit: o.limit ?? null, examples: dataExamples(o.data),
    identity: o.identity };
}

/** Checks the names a hook uses against the model's trainable weights. */
function checkWeightNames(hook: string, names: Iterable<string>, known: Map<string, tf.Variable>): void {
  for (const name of names) if (!known.has(name)) throw new UnknownWeightError(hook, name, [...known.keys()]);
}

/**
 * The training loop: SGD with momentum and weight decay on the recipe's step schedule, evaluation after
 * every epoch, metrics as JSON lines, checkpoints that resume exactly. If `runDir` already holds a finished
 * run it returns that run's result; if it holds a checkpoint of the same run, training continues from it.
 */
export async function train(o: TrainOptions): Promise<TrainResult> {
  const done = readTrainResult(o.runDir);
  if (done) {
    const field = differingField({ identity: o.identity }, { identity: done.identity });
    if (field !== undefined) throw new StaleStageError(o.runDir, field, 'result');
    return done;
  }
  fs.mkdirSync(o.runDir, { recursive: true });
  const key = trainRunKey(o);
  const label = o.label ?? 'train';
  const info = activeBackend();
  /** The backend, recorded in every metrics line and in the result. */
  const ranOn = info
    ? { backend: info.name, threads: info.threads, ...(info.nativeConv ? { nativeConv: info.nativeConv } : {}) }
    : { backend: tf.getBackend(), threads: 1 };
  const shape = [o.data.info.height, o.data.info.width, o.data.info.channels];
  const trainLoader = trainBatches(o.data,
    { batchSize: o.recipe.batchSize, seed: o.seed, limit: o.limit?.train });
  const testLoader = testBatches(o.data, { limit: o.limit?.test });
  const sgd =
    new Sgd(o.recipe.momentum, o.recipe.weightDecay, o.recipe.nesterov ?? false, o.hooks?.ownUpdate);
  const model = o.model;
  let state: LoopState = { runKey: key, epoch: 0, nextBatch: 0, bestTop1: -1, bestEpoch: -1, metricsLines: 0,
    trainSeconds: 0, imagesSeen: 0 };
  if (o.startFrom && !CHECKPOINT_DIRS.some((name) => fs.existsSync(path.join(o.runDir, name)))) {
    const shared = startFromKept(o.runDir, o.startFrom, key);
    if (shared) process.stderr.write(`${label}: starts from ${o.startFrom.runDir} after epoch ${shared.epochs}, the same training until then\n`);
  }
  const restored = await readCheckpoint(o.runDir);
  if (restored) {
    const field = differingField(key, restored.state.runKey);
    if (field !== undefined) {
      restored.model.dispose();
      throw new StaleStageError(o.runDir, field, 'checkpoint');
    }
    model.setWeights(restored.model.getWeights());
    restored.model.dispose();
    sgd.setState(restored.optimizer);
    state = restored.state;
    keepMetricsHead(metricsFile(o.runDir), state.metricsLines);
    process.stderr.write(`${label}: resuming at epoch ${state.epoch + 1}, batch ${state.nextBatch}\n`);
  }
  const variables = trainableVariables(model);
  const varList = [...variables.values()];
  if (!restored) await o.hooks?.beforeTraining?.(model);
  const masks = o.hooks?.masks;
  if (masks) checkWeightNames('masks', masks.keys(), variables);
  if (o.hooks?.ownUpdate) checkWeightNames('ownUpdate', o.hooks.ownUpdate.weights, variables);
  // Masked weights start at zero; masked gradients then keep them there.
  if (masks) applyMasks(model, masks);
  const progress = new Progress(label, o.progress ?? true);
  o.onEpoch?.({ label, epoch: state.epoch, epochs: o.recipe.epochs });
  const checkpointSteps = o.checkpointSteps ?? 200;
  /** A checkpoint is only written over finite weights, so the kept one is always good. */
  const checkpoint = async (at: LoopState) => {
    if (!allFinite(model)) {
      throw new NonFiniteLossError(at.epoch + 1, at.nextBatch, 'weights became non-finite');
    }
    await writeCheckpoint(o.runDir, model, o.spec, sgd, at);
    if (at.epoch === o.keepStateAfter && at.nextBatch === 0) keepState(o.runDir, at.epoch, at.metricsLines);
  };
  // Stopped between the checkpoint to keep and keeping it.
  if (restored && state.epoch === o.keepStateAfter && state.nextBatch === 0) {
    keepState(o.runDir, state.epoch, state.metricsLines, restored.dir);
  }
  // A first epoch: lines of an attempt stopped before its first checkpoint are not this run's.
  if (!restored) fs.rmSync(metricsFile(o.runDir), { force: true });

  collectInitialValues(varList);
  try {
    for (; state.epoch < o.recipe.epochs; state = { ...state, epoch: state.epoch + 1, nextBatch: 0 }) {
      const lr = learningRate(o.recipe, state.epoch);
      const started = Date.now();
      let epochLoss = 0;
      let epochCorrect = 0;
      let epochSeen = 0;
      progress.start(trainLoader.batchesPerEpoch, state.nextBatch);
      for await (const batch of trainLoader.epoch(state.epoch, state.nextBatch)) {
        await letTimersRun();
        o.signal?.throwIfAborted();
        const stepStarted = Date.now();
        const [loss, correct] = tf.tidy(() => {
          const images = tf.tensor(batch.x, [batch.size, ...shape]);
          const labels = tf.tensor1d(batch.y, 'int32');
          let hits: tf.Tensor | undefined;
          const { value, grads } = variableGrads(() => {
            const logits = model.apply(images, { training: true }) as tf.Tensor;
            // Kept past the forward scope, which disposes everything but the loss.
            hits = tf.keep(tf.sum(tf.cast(tf.equal(tf.argMax(logits, 1), labels), 'float32')));
            return tf.losses.softmaxCrossEntropy(tf.oneHot(labels, o.data.info.classes), logits) as tf.Scalar;
          }, varList);
          const named = gradientsByWeightName(variables, grads);
          for (const [name, extra] of o.hooks?.extraGradients?.(model) ?? []) {
            checkWeightNames('extraGradients', [name], variables);
            named[name] = tf.add(named[name], extra);
          }
          for (const [name, mask] of masks ?? []) named[name] = tf.mul(named[name], mask);
          const lossValue = value.dataSync()[0];
          if (!Number.isFinite(lossValue)) {
            throw new NonFiniteLossError(state.epoch + 1, batch.index, `loss became ${lossValue}`);
          }
          sgd.step(variables, named, lr);
          const hitCount = hits!.dataSync()[0];
          hits!.dispose();
          return [lossValue, hitCount];
        });
        o.hooks?.afterStep?.({ model, epoch: state.epoch, step: batch.index, lr });
        epochLoss += loss * batch.size;
        epochCorrect += correct;
        epochSeen += batch.size;
        const stepSeconds = (Date.now() - stepStarted) / 1000;
        state = { ...state, nextBatch: batch.index + 1, trainSeconds: state.trainSeconds + stepSeconds,
          imagesSeen: state.imagesSeen + batch.size };
        progress.update(batch.index + 1, trainLoader.batchesPerEpoch,
          `epoch ${state.epoch + 1}/${o.recipe.epochs} loss ${(epochLoss / epochSeen).toFixed(4)} lr ${lr}`);
        if (batch.index + 1 < trainLoader.batchesPerEpoch && (batch.index + 1) % checkpointSteps === 0) {
          await checkpoint(state);
        }
      }
      progress.stop();
      const forwardTraining = (batches: number) => forwardInTraining(model, trainLoader, state.epoch, batches, shape);
      await o.hooks?.afterEpoch?.({ model, epoch: state.epoch, step: trainLoader.batchesPerEpoch, lr, forwardTraining });
      const test = evaluate(model, testLoader, shape);
      const line = {
        epoch: state.epoch + 1, lr, trainLoss: epochSeen ? epochLoss / epochSeen : null,
        trainTop1: epochSeen ? (100 * epochCorrect) / epochSeen : null,
        testTop1: test.top1, testTop5: test.top5, testLoss: test.loss, seconds: (Date.now() - started) / 1000,
        imagesPerSecond: state.trainSeconds > 0 ? state.imagesSeen / state.trainSeconds : null,
        ...ranOn,
      };
      appendEpochMetrics(metricsFile(o.runDir), line);
      if (o.progress ?? true) {
        process.stderr.write(`${label} epoch ${line.epoch}/${o.recipe.epochs}: ` +
          `train loss ${line.trainLoss?.toFixed(4)}, test top-1 ${test.top1.toFixed(2)}% ` +
          `top-5 ${test.top5.toFixed(2)}% (${line.seconds.toFixed(1)} s)\n`);
      }
      if (test.top1 > state.bestTop1) {
        state = { ...state, bestTop1: test.top1, bestEpoch: state.epoch + 1 };
        await saveModelDir(path.join(o.runDir, 'best'), model, o.spec, o.hooks?.masks);
      }
      state = { ...state, metricsLines: state.metricsLines + 1 };
      await checkpoint({ ...state, epoch: state.epoch + 1, nextBatch: 0 });
      o.onEpoch?.({ label, epoch: line.epoch, epochs: o.recipe.epochs, top1: test.top1 });
    }
  } finally {
    progress.stop();
    await trainLoader.dispose?.();
  }
  const final = evaluate(model, testLoader, shape);
  await saveModelDir(path.join(o.runDir, 'final'), model, o.spec, o.hooks?.masks);
  const result: TrainResult = {
    bestTop1: Math.max(state.bestTop1, final.top1), bestEpoch: state.bestEpoch, final, epochs: o.recipe.epochs,
    trainSeconds: state.trainSeconds,
    imagesPerSecond: state.trainSeconds > 0 ? state.imagesSeen / state.trainSeconds : 0,
    ...ranOn, ...(o.identity ? { identity: o.identity } : {}), examples: dataExamples(o.data),
    ...(state.sharedStart ? { sharedStart: state.sharedStart } : {}),
  };
  writeFileAtomic(path.join(o.runDir, RESULT), JSON.stringify(result, null, 2));
  sgd.dispose();
  return result;
}
