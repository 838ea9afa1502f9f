import * as fs from 'fs';
import * as path from 'path';
import type * as tf from '@tensorflow/tfjs';
import { RunDirError } from '../errors';
import { readJsonFile, writeFileAtomic } from '../fs-atomic';
import { loadModelDir, ModelDirError, saveModelDir } from '../model-io';
import type { ArchSpec } from '../spec';
import { isObject } from './run-key';
import type { Sgd } from './sgd';

/**
 * A training checkpoint: the model directory (weights, BN statistics, spec), the optimiser's momentum
 * buffers and the loop's position. Written to a temporary directory and swapped in with renames, so a kill
 * at any moment leaves the previous complete checkpoint.
 */
export interface LoopState {
  /** Identifies the run (spec, recipe, seed, data, caller's identity); another run's checkpoint is refused. */
  runKey: Record<string, unknown>;
  epoch: number;
  /** Next batch to train in `epoch`. */
  nextBatch: number;
  bestTop1: number;
  bestEpoch: number;
  /** Lines of metrics.jsonl that belong to the state (later lines came after it and are dropped on resume). */
  metricsLines: number;
  trainSeconds: number;
  imagesSeen: number;
  /** Where the run's first epochs were trained: another run's state after them (shared-start.ts). */
  sharedStart?: SharedStart;
}

/** The first `epochs` epochs of a run, trained by the run in `from` (in `trainSeconds` of its time). */
export interface SharedStart {
  from: string;
  epochs: number;
  trainSeconds: number;
}

const CURRENT = 'checkpoint';
/** The folder of a run directory that holds its current checkpoint, and the loop's state in it. */
export const CHECKPOINT_DIR = CURRENT;
const NEXT = 'checkpoint.next';
const PREVIOUS = 'checkpoint.previous';
const STATE_JSON = 'state.json';
export const CHECKPOINT_STATE_FILE = STATE_JSON;
const OPTIMIZER_BIN = 'optimizer.bin';

type OptimizerIndex = Record<string, { shape: number[]; offset: number }>;

/** The checkpoint folders of a run directory (the current one, one being written, the one before). */
export const CHECKPOINT_DIRS: readonly string[] = [CURRENT, NEXT, PREVIOUS];

export async function writeCheckpoint(runDir: string, model: tf.LayersModel, spec: ArchSpec, sgd: Sgd,
  state: LoopState): Promise<void> {
  const next = path.join(runDir, NEXT);
  fs.rmSync(next, { recursive: true, force: true });
  await saveModelDir(next, model, spec);
  const buffers = sgd.getState();
  const index: OptimizerIndex = {};
  let offset = 0;
  for (const [name, { shape, values }] of Object.entries(buffers)) {
    index[name] = { shape, offset };
    offset += values.length;
  }
  const all = new Float32Array(offset);
  for (const [name, { values }] of Object.entries(buffers)) all.set(values, index[name].offset);
  writeFileAtomic(path.join(next, OPTIMIZER_BIN), new Uint8Array(all.buffer));
  // state.json last: a directory with it is complete.
  writeFileAtomic(path.join(next, STATE_JSON), JSON.stringify({ ...state, optimizer: index }, null, 1));
  const current = path.join(runDir, CURRENT);
  const previous = path.join(runDir, PREVIOUS);
  // The previous checkpoint goes only once the current one takes its place: one complete copy always remains.
  if (fs.existsSync(current)) {
    fs.rmSync(previous, { recursive: true, force: true });
    fs.renameSync(current, previous);
  }
  fs.renameSync(next, current);
  fs.rmSync(previous, { recursive: true, force: true });
}

export interface RestoredCheckpoint {
  model: tf.LayersModel;
  state: LoopState;
  optimizer: Record<string, { shape: number[]; values: Float32Array }>;
  /** The directory it came from (`checkpoint`, or `checkpoint.previous` when the newer one is damaged). */
  dir: string;
}

const NUMBER_FIELDS =
  ['epoch', 'nextBatch', 'bestTop1', 'bestEpoch', 'metricsLines', 'trainSeconds', 'imagesSeen'] as const;

/** state.json of a checkpoint directory, checked field by field. */
function readState(dir: string): { state: LoopState; index: OptimizerIndex } {
  const file = path.join(dir, STATE_JSON);
  const raw = readJsonFile(file, (problem) => new RunDirError(file, problem));
  if (!isObject(raw)) throw new RunDirError(file, 'is not a JSON object');
  const { optimizer: index, ...state } = raw;
  const badNumber = NUMBER_FIELDS.find((field) => typeof state[field] !== 'number');
  if (badNumber) throw new RunDirError(file, `field '${badNumber}' is missing or not a number`);
  if (typeof state.runKey === 'string') {
    throw new RunDirError(file, 'was written by an older version of the loop; ' +
      'delete the run directory to start over');
  }
  if (!isObject(state.runKey)) throw new RunDirError(file, "field 'runKey' is missing or not an object");
  const entries = isObject(index) ? Object.entries(index) : undefined;
  const isIndexEntry = (entry: unknown) =>
    isObject(entry) && Array.isArray(entry.shape) && Number.isInteger(entry.offset);
  if (!entries?.every(([, entry]) => isIndexEntry(entry))) {
    throw new RunDirError(file, "field 'optimizer' is not an index of { shape, offset } by weight name");
  }
  return { state: state as unknown as LoopState, index: index as OptimizerIndex };
}

/** The loop's state in the newest readable checkpoint of `runDir` (its state.json alone), or undefined where none is. */
export function checkpointState(runDir: string): LoopState | undefined {
  for (const name of [CURRENT, PREVIOUS]) {
    if (!fs.existsSync(path.join(runDir, name, STATE_JSON))) continue;
    try {
      return readState(path.join(runDir, name)).state;
    } catch (e) {
      if (!(e instanceof RunDirError)) throw e;
    }
  }
  return undefined;
}

/** The run key of the newest readable checkpoint of `runDir`, or undefined where none is. */
export const checkpointRunKey = (runDir: string): Record<string, unknown> | undefined => checkpointState(runDir)?.runKey;

/** The momentum buffers of optimizer.bin, which must hold exactly what state.json's index lists. */
function readOptimizer(dir: string, index: OptimizerIndex): RestoredCheckpoint['optimizer'] {
  const file = path.join(dir, OPTIMIZER_BIN);
  if (!fs.existsSync(file)) {
    throw new RunDirError(file, `missing (${STATE_JSON} lists ${Object.keys(index).length} buffers)`);
  }
  const bytes = fs.readFileSync(file);
  const sizes = Object.values(index).map(({ shape }) => shape.reduce((product, dim) => product * dim, 1));
  const expected = 4 * sizes.reduce((total, size) => total + size, 0);
  if (bytes.length !== expected) {
    throw new RunDirError(file, `has ${bytes.length} bytes, ${STATE_JSON} expects ${expected}`);
  }
  const all = new Float32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.length));
  return Object.fromEntries(Object.entries(index).map(([name, { shape, offset }], i) =>
    [name, { shape, values: all.slice(offset, offset + sizes[i]) }]));
}

async function readCheckpointDir(dir: string): Promise<RestoredCheckpoint> {
  const { state, index } = readState(dir);
  const optimizer = readOptimizer(dir, index);
  const { model } = await loadModelDir(dir);
  return { model, state, optimizer, dir };
}

/**
 * The newest complete checkpoint of a run directory, or undefined when there is none. When `checkpoint/` is
 * damaged but `checkpoint.previous/` is complete, the previous one is used (the damage is reported on stderr);
 * when no checkpoint is usable, the newest one's problem is thrown (RunDirError or ModelDirError).
 */
export async function readCheckpoint(runDir: string): Promise<RestoredCheckpoint | undefined> {
  const dirs = [CURRENT, PREVIOUS].map((name) => path.join(runDir, name)).filter((dir) => fs.existsSync(dir));
  let firstError: unknown;
  for (const dir of dirs) {
    try {
      const restored = await readCheckpointDir(dir);
      if (firstError) process.stderr.write(`${(firstError as Error).message}; using ${dir} instead\n`);
      return restored;
    } catch (e) {
      if (!(e instanceof RunDirError || e instanceof ModelDirError)) throw e;
      firstError ??= e;
    }
  }
  if (firstError) throw firstError;
  return undefined;
}
