import * as fs from 'fs';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs';
import { activeBackend } from '../backend';
import { splitSize, testBatches, trainBatches, type TrainingData } from '../data/source';
import { writeFileAtomic } from '../fs-atomic';
import { applyMasks, type MaskSet } from '../masks';
import { saveModelDir } from '../model-io';
import type { ArchSpec } from '../spec';
import { readCheckpoint, writeCheckpoint, type LoopState } from './checkpoint';
import { evaluate, type Evaluation } from './evaluate';
import { Progress } from './progress';
import { learningRate, type Recipe } from './recipe';
import { Sgd } from './sgd';

/** What a method may add to training; every hook is optional. */
export interface TrainingHooks {
  /** Extra gradient terms by weight name (`layer/weight`), added before the step (slimming's L1 on γ). */
  extraGradients?(model: tf.LayersModel): Map<string, tf.Tensor>;
  /** After every optimiser step (SFP zeroing filters). */
  afterStep?(ctx: StepContext): void;
  /** After every epoch, before evaluation. */
  afterEpoch?(ctx: StepContext): void | Promise<void>;
  /** Weight masks kept at zero after every step (unstructured pruning, lottery tickets). */
  masks?: MaskSet;
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
  return tf.tidy(() => model.weights.every((w) => tf.all(tf.isFinite(w.read())).dataSync()[0] === 1));
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
}

const RESULT = 'result.json';
const METRICS = 'metrics.jsonl';

export function readTrainResult(runDir: string): TrainResult | undefined {
  const file = path.join(runDir, RESULT);
  return fs.existsSync(file) ? (JSON.parse(fs.readFileSync(file, 'utf8')) as TrainResult) : undefined;
}

function runKey(o: TrainOptions): string {
  return JSON.stringify({ spec: o.spec, recipe: o.recipe, seed: o.seed, limit: o.limit ?? null, n: [splitSize(o.data, 'train'), splitSize(o.data, 'test')] });
}

function truncateLines(file: string, lines: number): void {
  if (!fs.existsSync(file)) return;
  const kept = fs.readFileSync(file, 'utf8').split('\n').filter((l) => l.length > 0).slice(0, lines);
  writeFileAtomic(file, kept.map((l) => `${l}\n`).join(''));
}

/**
 * The training loop: SGD with momentum and weight decay on the recipe's step schedule, evaluation after
 * every epoch, metrics as JSON lines, checkpoints that resume exactly. If `runDir` already holds a finished
 * run it returns that run's result; if it holds a checkpoint of the same run, training continues from it.
 */
export async function train(o: TrainOptions): Promise<TrainResult> {
  const done = readTrainResult(o.runDir);
  if (done) return done;
  fs.mkdirSync(o.runDir, { recursive: true });
  const key = runKey(o);
  const info = activeBackend();
  /** What every metrics line and the result record of the backend. */
  const ranOn = info
    ? { backend: info.name, threads: info.threads, ...(info.nativeConv ? { nativeConv: info.nativeConv } : {}) }
    : { backend: tf.getBackend(), threads: 1 };
  const shape = [o.data.info.height, o.data.info.width, o.data.info.channels];
  const trainLoader = trainBatches(o.data, { batchSize: o.recipe.batchSize, seed: o.seed, limit: o.limit?.train });
  const testLoader = testBatches(o.data, { limit: o.limit?.test });
  const sgd = new Sgd(o.recipe.momentum, o.recipe.weightDecay);
  const model = o.model;
  let state: LoopState = { runKey: key, epoch: 0, nextBatch: 0, bestTop1: -1, bestEpoch: -1, metricsLines: 0, trainSeconds: 0, imagesSeen: 0 };
  const restored = await readCheckpoint(o.runDir);
  if (restored) {
    if (restored.state.runKey !== key) {
      throw new Error(`${o.runDir} holds a checkpoint of a different run (spec, recipe, seed or data differ); ` +
        'choose another run directory or delete it to start over');
    }
    model.setWeights(restored.model.getWeights());
    restored.model.dispose();
    sgd.setState(restored.optimizer);
    state = restored.state;
    truncateLines(path.join(o.runDir, METRICS), state.metricsLines);
    process.stderr.write(`${o.label ?? 'train'}: resuming at epoch ${state.epoch + 1}, batch ${state.nextBatch}\n`);
  }
  const variables = new Map<string, tf.Variable>();
  const byTfName = new Map<string, string>();
  for (const w of model.trainableWeights) {
    const v = w.read() as tf.Variable;
    variables.set(w.originalName, v);
    byTfName.set(v.name, w.originalName);
  }
  const varList = [...variables.values()];
  const progress = new Progress(o.label ?? 'train', o.progress ?? true);
  const checkpointSteps = o.checkpointSteps ?? 200;
  /** A checkpoint is only written over finite weights, so the kept one is always good. */
  const checkpoint = async (at: LoopState) => {
    if (!allFinite(model)) throw new NonFiniteLossError(at.epoch + 1, at.nextBatch, 'weights became non-finite');
    await writeCheckpoint(o.runDir, model, o.spec, sgd, at);
  };

  try {
    for (; state.epoch < o.recipe.epochs; state = { ...state, epoch: state.epoch + 1, nextBatch: 0 }) {
      const lr = learningRate(o.recipe, state.epoch);
      const started = Date.now();
      let epochLoss = 0;
      let epochCorrect = 0;
      let epochSeen = 0;
      progress.start(trainLoader.batchesPerEpoch, state.nextBatch);
      for await (const batch of trainLoader.epoch(state.epoch, state.nextBatch)) {
        const t0 = Date.now();
        const [loss, correct] = tf.tidy(() => {
          const x = tf.tensor(batch.x, [batch.size, ...shape]);
          const labels = tf.tensor1d(batch.y, 'int32');
          let hits: tf.Tensor | undefined;
          const { value, grads } = tf.variableGrads(() => {
            const logits = model.apply(x, { training: true }) as tf.Tensor;
            // Kept past the forward scope, which disposes everything but the loss.
            hits = tf.keep(tf.sum(tf.cast(tf.equal(tf.argMax(logits, 1), labels), 'float32')));
            return tf.losses.softmaxCrossEntropy(tf.oneHot(labels, o.data.info.classes), logits) as tf.Scalar;
          }, varList);
          const named: tf.NamedTensorMap = {};
          for (const [tfName, g] of Object.entries(grads)) named[byTfName.get(tfName)!] = g;
          for (const [name, extra] of o.hooks?.extraGradients?.(model) ?? []) named[name] = tf.add(named[name], extra);
          const l = value.dataSync()[0];
          if (!Number.isFinite(l)) throw new NonFiniteLossError(state.epoch + 1, batch.index, `loss became ${l}`);
          sgd.step(variables, named, lr);
          const hit = hits!.dataSync()[0];
          hits!.dispose();
          return [l, hit];
        });
        if (o.hooks?.masks) applyMasks(model, o.hooks.masks);
        o.hooks?.afterStep?.({ model, epoch: state.epoch, step: batch.index, lr });
        epochLoss += loss * batch.size;
        epochCorrect += correct;
        epochSeen += batch.size;
        state = { ...state, nextBatch: batch.index + 1, trainSeconds: state.trainSeconds + (Date.now() - t0) / 1000,
          imagesSeen: state.imagesSeen + batch.size };
        progress.update(batch.index + 1, trainLoader.batchesPerEpoch,
          `epoch ${state.epoch + 1}/${o.recipe.epochs} loss ${(epochLoss / epochSeen).toFixed(4)} lr ${lr}`);
        if (batch.index + 1 < trainLoader.batchesPerEpoch && (batch.index + 1) % checkpointSteps === 0) {
          await checkpoint(state);
        }
      }
      progress.stop();
      await o.hooks?.afterEpoch?.({ model, epoch: state.epoch, step: trainLoader.batchesPerEpoch, lr });
      const test = evaluate(model, testLoader, shape);
      const line = {
        epoch: state.epoch + 1, lr, trainLoss: epochSeen ? epochLoss / epochSeen : null,
        trainTop1: epochSeen ? (100 * epochCorrect) / epochSeen : null, testTop1: test.top1, testTop5: test.top5,
        testLoss: test.loss, seconds: (Date.now() - started) / 1000,
        imagesPerSecond: state.trainSeconds > 0 ? state.imagesSeen / state.trainSeconds : null,
        ...ranOn,
      };
      fs.appendFileSync(path.join(o.runDir, METRICS), `${JSON.stringify(line)}\n`);
      if (o.progress ?? true) {
        process.stderr.write(`${o.label ?? 'train'} epoch ${line.epoch}/${o.recipe.epochs}: train loss ${line.trainLoss?.toFixed(4)}, ` +
          `test top-1 ${test.top1.toFixed(2)}% top-5 ${test.top5.toFixed(2)}% (${line.seconds.toFixed(1)} s)\n`);
      }
      if (test.top1 > state.bestTop1) {
        state = { ...state, bestTop1: test.top1, bestEpoch: state.epoch + 1 };
        await saveModelDir(path.join(o.runDir, 'best'), model, o.spec);
      }
      state = { ...state, metricsLines: state.metricsLines + 1 };
      await checkpoint({ ...state, epoch: state.epoch + 1, nextBatch: 0 });
    }
  } finally {
    progress.stop();
    await trainLoader.dispose?.();
  }
  const final = evaluate(model, testLoader, shape);
  await saveModelDir(path.join(o.runDir, 'final'), model, o.spec);
  const result: TrainResult = {
    bestTop1: Math.max(state.bestTop1, final.top1), bestEpoch: state.bestEpoch, final, epochs: o.recipe.epochs,
    trainSeconds: state.trainSeconds, imagesPerSecond: state.trainSeconds > 0 ? state.imagesSeen / state.trainSeconds : 0,
    ...ranOn,
  };
  writeFileAtomic(path.join(o.runDir, RESULT), JSON.stringify(result, null, 2));
  sgd.dispose();
  return result;
}
