import * as fs from 'fs';
import * as path from 'path';
import { writeFileAtomic } from '../fs-atomic';
import { CHECKPOINT_DIRS, checkpointRunKey } from '../train/checkpoint';
import { readTrainResult, type TrainResult } from '../train/loop';
import { isKeptStateFolder } from '../train/shared-start';
import { identityMismatch, isObject } from '../train/run-key';

/**
 * Stages that other runs trained already. A trained stage's weights follow from its spec, recipe, seed, data, hooks
 * and start, not from the method that asked for it: VGG-16's plain baseline is one run under L1, ThiNet and
 * regression, and a fresh scratch run of an architecture is one run whichever structured prune found it. Such a
 * stage, finished in another run directory, is copied instead of trained again (`--reuse-from`).
 */

/** Where a copied stage came from, in its result.json. */
export interface ReusedFrom {
  /** The directory it was copied from, relative to the working directory where it lies below it. */
  dir: string;
  /** The method whose run trained it. */
  method: string;
}

/** The identity without some of its fields. */
const without = (identity: Record<string, unknown>, fields: string[]) =>
  Object.fromEntries(Object.entries(identity).filter(([field]) => !fields.includes(field)));

/**
 * What decides a stage's weights, from its identity: a plain baseline's identity without the names of the method and
 * the model (its spec builds it: `vgg19-wl` names a spec); a scratch run from a fresh init after a structured prune
 * (no masks), without the method's and variant's names and the prune that chose the architecture. Undefined for every other stage (a method's hooks, a fine-tune, a saved init, masks):
 * those depend on their method.
 */
export function trainingKey(identity: Record<string, unknown>): Record<string, unknown> | undefined {
  if (identity.hooks !== null) return undefined;
  if (identity.stage === 'baseline') return identity.start === undefined ? without(identity, ['method', 'model']) : undefined;
  const structured = isObject(identity.pruned) && String(identity.pruned.pruner).startsWith('structured ');
  if (!String(identity.stage).startsWith('scratch-') || identity.init !== 'fresh' || !structured) return undefined;
  return without(identity, ['method', 'variant', 'pruned']);
}

const RESULT = 'result.json';
const COPYING = '.copying';
/** Folders inside a stage (weights, checkpoints, a state kept for another run) and copies being made: no stage. */
export const notAStage = (name: string) =>
  ['best', 'final', 'init', 'pruned', ...CHECKPOINT_DIRS].includes(name) || name.endsWith(COPYING) ||
  isKeptStateFolder(name);

/** Every finished stage under `root` (a folder holding result.json), depth first; a folder that vanishes is passed. */
function* finishedStages(root: string, depth = 0): Generator<string> {
  let entries: fs.Dirent[];
  try {
    entries = fs.readdirSync(root, { withFileTypes: true });
  } catch {
    return; // removed or renamed by a run beside this one
  }
  if (entries.some((e) => e.name === RESULT)) yield root;
  if (depth >= 12) return;
  for (const entry of entries) {
    if (entry.isDirectory() && !notAStage(entry.name)) yield* finishedStages(path.join(root, entry.name), depth + 1);
  }
}

type StageResult = TrainResult & { identity: Record<string, unknown> };

/** A finished training result with an identity (the loop's own reader), or undefined for anything else. */
function readResult(dir: string): StageResult | undefined {
  try {
    const result = readTrainResult(dir);
    return result && isObject(result.identity) ? result as StageResult : undefined;
  } catch {
    return undefined; // being written, removed, or not ours: not a stage to copy
  }
}

/** The data sizes a finished stage trained on: its result's, or (written before results had them) its checkpoint's. */
const trainedExamples = (dir: string, result: StageResult): unknown =>
  result.examples ?? checkpointRunKey(dir)?.examples;

/**
 * A finished stage under `roots`, other than `dir` itself, that trained what `identity` asks for on data of the same
 * sizes (`examples`: the identity names the data set, not the folder it was read from). None where `dir` holds a
 * checkpoint of another run: that one stops the run as stale, as without reuse.
 */
export function findReusable(roots: readonly string[], dir: string, identity: Record<string, unknown>,
  examples: { train: number; test: number }): string | undefined {
  const key = trainingKey(identity);
  if (!key) return undefined;
  const ownCheckpoint = checkpointRunKey(dir);
  if (ownCheckpoint && identityMismatch(identity, ownCheckpoint.identity) !== undefined) return undefined;
  for (const root of roots) {
    for (const stage of finishedStages(root)) {
      if (path.resolve(stage) === path.resolve(dir)) continue;
      const result = readResult(stage);
      const found = result && trainingKey(result.identity);
      if (found && identityMismatch(key, found) === undefined &&
        identityMismatch({ examples }, { examples: trainedExamples(stage, result) }) === undefined) return stage;
    }
  }
  return undefined;
}

/**
 * Copies the finished stage `source` to `dir` (its checkpoints aside) under this run's identity, naming where it came
 * from; whatever `dir` held (an interrupted run of the same training) gives way to it. False, with `dir` untouched,
 * where the source is no longer a finished stage (a run beside this one removed it).
 */
export function copyStage(source: string, dir: string, identity: Record<string, unknown>): boolean {
  const result = readResult(source);
  if (!result) return false;
  const relative = path.relative(process.cwd(), path.resolve(source));
  const reusedFrom: ReusedFrom = ((result as { reusedFrom?: ReusedFrom }).reusedFrom) ?? {
    dir: relative.startsWith('..') ? path.resolve(source) : relative,
    method: String(result.identity.method),
  };
  const copying = `${dir}${COPYING}`;
  fs.rmSync(copying, { recursive: true, force: true });
  try {
    fs.cpSync(source, copying, { recursive: true, filter: (file) => !CHECKPOINT_DIRS.includes(path.basename(file)) });
  } catch (e) {
    fs.rmSync(copying, { recursive: true, force: true });
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw e;
  }
  const examples = trainedExamples(source, result);
  writeFileAtomic(path.join(copying, RESULT), JSON.stringify({ ...result, identity, examples, reusedFrom }, null, 2));
  fs.rmSync(dir, { recursive: true, force: true });
  fs.renameSync(copying, dir);
  return true;
}
