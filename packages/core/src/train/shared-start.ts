/**
 * A run whose first epochs are another run's. Scratch-B trains as Scratch-E of the same pruned network (one init, one
 * data order, one LR) until the first epoch where their LR schedules part (recipe.ts `sharedEpochs`: epoch 20 of the
 * small profile's 40, 80 of the seed's 160). Scratch-E keeps its state after those epochs; Scratch-B, where it has no
 * checkpoint of its own yet, starts from that state and trains only the rest. Its weights at the end are those of a
 * Scratch-B trained from its first epoch (the loop resumes exactly), for the epochs it did not repeat.
 */
import * as fs from 'fs';
import * as path from 'path';
import { writeFileAtomic } from '../fs-atomic';
import { checkpointState, CHECKPOINT_DIR, CHECKPOINT_STATE_FILE, type SharedStart } from './checkpoint';
import { sharedEpochs, type Recipe } from './recipe';
import { metricsFile, metricsHeadOf } from './metrics-file';
import { identityMismatch } from './run-key';

/** A kept state: the run's checkpoint after `epochs` epochs, with its best model and its metrics lines until then. */
const keptDir = (runDir: string, epochs: number) => path.join(runDir, `after-epoch-${epochs}`);
/** A kept state's folder, whole or being written: inside a run's folder, no run of its own. */
export const isKeptStateFolder = (name: string) => /^after-epoch-\d+(\.writing)?$/.test(name);
const BEST = 'best';

/**
 * Keeps the run's checkpoint (its current one, or the one it resumed from), which must be the one after `epochs` epochs
 * (`metricsLines` lines of metrics belong to it), in `after-epoch-<epochs>/` with the best model so far; once, whole or
 * not at all.
 */
export function keepState(runDir: string, epochs: number, metricsLines: number,
  checkpoint = path.join(runDir, CHECKPOINT_DIR)): void {
  const dir = keptDir(runDir, epochs);
  if (checkpointState(dir)) return;
  const writing = `${dir}.writing`;
  fs.rmSync(writing, { recursive: true, force: true });
  fs.mkdirSync(writing);
  if (fs.existsSync(path.join(runDir, BEST))) fs.cpSync(path.join(runDir, BEST), path.join(writing, BEST), { recursive: true });
  fs.writeFileSync(metricsFile(writing), metricsHeadOf(metricsFile(runDir), metricsLines));
  fs.cpSync(checkpoint, path.join(writing, CHECKPOINT_DIR), { recursive: true });
  fs.rmSync(dir, { recursive: true, force: true });
  fs.renameSync(writing, dir);
}

/** The run a new run starts from: its directory, the epochs they share, and its run key (trainRunKey). */
export interface StartFrom {
  runDir: string;
  epochs: number;
  runKey: Record<string, unknown>;
}

/**
 * Gives `runDir`, which has no checkpoint, the state `from` kept after their shared epochs, as its own checkpoint (its
 * run key `ownKey`), with that run's best model and metrics until then. Returns what it took, or undefined where `from`
 * kept no such state or kept another run's (then the run trains from its first epoch). The caller vouches that both
 * runs train alike (same hooks, masks and init); this checks that their model, seed, data and LRs until then agree.
 */
export function startFromKept(runDir: string, from: StartFrom, ownKey: Record<string, unknown>): SharedStart | undefined {
  const pick = (key: Record<string, unknown>) => ({ spec: key.spec, seed: key.seed, limit: key.limit, examples: key.examples });
  const differs = identityMismatch(pick(ownKey), pick(from.runKey));
  const shared = sharedEpochs(from.runKey.recipe as Recipe, ownKey.recipe as Recipe);
  if (differs !== undefined || shared < from.epochs) {
    throw new Error(`${runDir} cannot start from ${from.runDir} after epoch ${from.epochs}: ` +
      (differs !== undefined ? `their ${differs} differs` : `their learning rates part at epoch ${shared + 1}`));
  }
  const dir = keptDir(from.runDir, from.epochs);
  const state = checkpointState(dir);
  if (!state || identityMismatch(from.runKey, state.runKey) !== undefined || state.epoch !== from.epochs ||
    state.nextBatch !== 0) return undefined;
  fs.mkdirSync(runDir, { recursive: true });
  if (fs.existsSync(path.join(dir, BEST))) fs.cpSync(path.join(dir, BEST), path.join(runDir, BEST), { recursive: true });
  writeFileAtomic(metricsFile(runDir), metricsHeadOf(metricsFile(dir), state.metricsLines));
  const sharedStart: SharedStart = { from: from.runDir, epochs: from.epochs, trainSeconds: state.trainSeconds };
  const copying = path.join(runDir, `${CHECKPOINT_DIR}.copying`);
  fs.rmSync(copying, { recursive: true, force: true });
  fs.cpSync(path.join(dir, CHECKPOINT_DIR), copying, { recursive: true });
  const stateFile = path.join(copying, CHECKPOINT_STATE_FILE);
  const raw = JSON.parse(fs.readFileSync(stateFile, 'utf8')) as Record<string, unknown>;
  writeFileAtomic(stateFile, JSON.stringify({ ...raw, runKey: ownKey, sharedStart }, null, 1));
  // Last: with the checkpoint in place, the run resumes from it.
  fs.renameSync(copying, path.join(runDir, CHECKPOINT_DIR));
  return sharedStart;
}
