import * as fs from 'fs';
import * as path from 'path';
import type * as tf from '@tensorflow/tfjs';
import { writeFileAtomic } from '../fs-atomic';
import { loadModelDir, saveModelDir } from '../model-io';
import type { ArchSpec } from '../spec';
import type { Sgd } from './sgd';

/**
 * A training checkpoint: the model directory (weights, BN statistics, spec), the optimiser's momentum
 * buffers and the loop's position. Written to a temporary directory and swapped in with renames, so a kill
 * at any moment leaves the previous complete checkpoint.
 */
export interface LoopState {
  /** Identifies the run (spec, recipe, seed, data); a checkpoint from another run is refused. */
  runKey: string;
  epoch: number;
  /** Next batch to train in `epoch`. */
  nextBatch: number;
  bestTop1: number;
  bestEpoch: number;
  /** Lines of metrics.jsonl that belong to the state (later lines came after it and are dropped on resume). */
  metricsLines: number;
  trainSeconds: number;
  imagesSeen: number;
}

const CURRENT = 'checkpoint';
const NEXT = 'checkpoint.next';
const PREVIOUS = 'checkpoint.previous';

export async function writeCheckpoint(runDir: string, model: tf.LayersModel, spec: ArchSpec, sgd: Sgd, state: LoopState): Promise<void> {
  const next = path.join(runDir, NEXT);
  fs.rmSync(next, { recursive: true, force: true });
  await saveModelDir(next, model, spec);
  const opt = sgd.getState();
  const index: Record<string, { shape: number[]; offset: number }> = {};
  let offset = 0;
  for (const [name, { shape, values }] of Object.entries(opt)) {
    index[name] = { shape, offset };
    offset += values.length;
  }
  const all = new Float32Array(offset);
  for (const [name, { values }] of Object.entries(opt)) all.set(values, index[name].offset);
  writeFileAtomic(path.join(next, 'optimizer.bin'), new Uint8Array(all.buffer));
  writeFileAtomic(path.join(next, 'state.json'), JSON.stringify({ ...state, optimizer: index }, null, 1));
  const current = path.join(runDir, CURRENT);
  const previous = path.join(runDir, PREVIOUS);
  fs.rmSync(previous, { recursive: true, force: true });
  if (fs.existsSync(current)) fs.renameSync(current, previous);
  fs.renameSync(next, current);
  fs.rmSync(previous, { recursive: true, force: true });
}

export interface RestoredCheckpoint {
  model: tf.LayersModel;
  state: LoopState;
  optimizer: Record<string, { shape: number[]; values: Float32Array }>;
}

/** The newest complete checkpoint of a run directory, or undefined when there is none. */
export async function readCheckpoint(runDir: string): Promise<RestoredCheckpoint | undefined> {
  const dir = [CURRENT, PREVIOUS].map((d) => path.join(runDir, d)).find((d) => fs.existsSync(path.join(d, 'state.json')));
  if (!dir) return undefined;
  const raw = JSON.parse(fs.readFileSync(path.join(dir, 'state.json'), 'utf8'));
  const { optimizer: index, ...state } = raw as LoopState & { optimizer: Record<string, { shape: number[]; offset: number }> };
  const bytes = fs.readFileSync(path.join(dir, 'optimizer.bin'));
  const all = new Float32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.length));
  const optimizer = Object.fromEntries(Object.entries(index).map(([name, { shape, offset }]) => {
    const size = shape.reduce((a, d) => a * d, 1);
    return [name, { shape, values: all.slice(offset, offset + size) }];
  }));
  const { model } = await loadModelDir(dir);
  return { model, state, optimizer };
}
