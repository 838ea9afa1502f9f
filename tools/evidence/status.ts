/**
 * Where a study's runs stand (`evidence status`): every training stage of its run directory that has begun (baselines,
 * fine-tunes, scratch runs; not the prunes, which train only between their steps, in a scratch folder), with its
 * epochs and best top-1, whether a process of this machine trains it now, and for one not finished the time its
 * remaining epochs take at its median epoch so far. Stages that have not begun have no folder and are not listed.
 */
import * as fs from 'fs';
import * as path from 'path';
import { notAStage } from '../../packages/core/src/experiment/reuse';
import { liveClaim, stageClaimFile, type TrainingClaim } from '../../packages/core/src/experiment/training-claim';
import { checkpointState } from '../../packages/core/src/train/checkpoint';
import { readTrainResult } from '../../packages/core/src/train/loop';
import { medianEpochSeconds, metricsFile, readEpochMetrics } from '../../packages/core/src/train/metrics-file';

export interface StageStatus {
  /** The stage's folder, relative to the run directory. */
  stage: string;
  /** done: it has its result; training: a live process holds its claim; stopped: begun, and nobody trains it now. */
  state: 'done' | 'training' | 'stopped';
  epoch: number;
  epochs: number | null;
  bestTop1: number | null;
  /** Its remaining epochs × its median epoch's seconds (null where it is done or has no epoch yet). */
  secondsLeft: number | null;
  holder?: number;
  /** A finished stage copied from another study's run of the same training (`--reuse-from`): that method. */
  copiedFrom?: string;
}

/** The claims of stages other runs can share, by the folder they train (in `.training-claims/` of these roots). */
function sharedClaims(roots: string[]): Map<string, TrainingClaim> {
  const claims = new Map<string, TrainingClaim>();
  for (const dir of roots.map((root) => path.join(root, '.training-claims'))) {
    for (const name of listing(dir).filter((entry) => entry.name.endsWith('.json'))) {
      const claim = liveClaim(path.join(dir, name.name));
      if (claim) claims.set(realPath(claim.dir), claim);
    }
  }
  return claims;
}

/** A folder's entries; none where it is missing or vanished (a run beside this one renames its folders). */
function listing(dir: string): fs.Dirent[] {
  try {
    return fs.readdirSync(dir, { withFileTypes: true });
  } catch {
    return [];
  }
}

/** What a finished stage's result says; undefined where it has none yet or it is being written. */
function finished(dir: string) {
  try {
    return readTrainResult(dir);
  } catch {
    return undefined;
  }
}

function statusOf(runDir: string, dir: string, shared: Map<string, TrainingClaim>): StageStatus | undefined {
  const stage = path.relative(runDir, dir);
  const result = finished(dir);
  if (result) {
    const { epochs, bestTop1 } = result;
    const copied = (result as { reusedFrom?: { method: string } }).reusedFrom;
    return { stage, state: 'done', epoch: epochs, epochs, bestTop1, secondsLeft: null,
      ...(copied ? { copiedFrom: copied.method } : {}) };
  }
  const state = checkpointState(dir);
  const holder = liveClaim(stageClaimFile(dir)) ?? shared.get(path.resolve(dir));
  // Training its first epoch (no checkpoint yet), or begun and stopped.
  if (!state && !holder) return undefined;
  const epoch = state?.epoch ?? 0;
  const epochs = (state?.runKey.recipe as { epochs?: number } | undefined)?.epochs ?? null;
  // A missing metrics file reads as no epochs.
  const median = medianEpochSeconds(readEpochMetrics(metricsFile(dir)), state?.sharedStart?.epochs);
  return {
    stage,
    state: holder ? 'training' : 'stopped',
    epoch,
    epochs,
    bestTop1: epoch > 0 ? state!.bestTop1 : null,
    secondsLeft: epochs !== null && median !== null ? Math.round((epochs - epoch) * median) : null,
    ...(holder ? { holder: holder.pid } : {}),
  };
}

/** A folder's path with its links followed (a claim names the real one); as given where it is missing. */
function realPath(dir: string): string {
  try {
    return fs.realpathSync(dir);
  } catch {
    return path.resolve(dir);
  }
}

/**
 * Every begun stage under `runDir`, in folder order; `claimRoots` also hold claims of shared stages. A run directory
 * reached through a link is read where it really is: its claims name that path, and its parent holds the shared ones.
 */
export function stageStatuses(given: string, claimRoots?: string[]): StageStatus[] {
  const runDir = realPath(given);
  const shared = sharedClaims(claimRoots ?? [path.dirname(runDir), runDir]);
  const statuses: StageStatus[] = [];
  const walk = (dir: string) => {
    const status = statusOf(runDir, dir, shared);
    if (status) statuses.push(status);
    const folders = listing(dir).filter((entry) => entry.isDirectory() && !entry.name.startsWith('.') &&
      !notAStage(entry.name)).map((entry) => entry.name).sort();
    for (const name of folders) walk(path.join(dir, name));
  };
  walk(runDir);
  return statuses;
}

function duration(seconds: number): string {
  const minutes = Math.round(seconds / 60);
  return minutes >= 60 ? `${Math.floor(minutes / 60)} h ${minutes % 60} min` : `${minutes} min`;
}

/**
 * One line a stage, and a last line with what the begun stages have left (each trains in its own process: the sum is
 * core time, not the wall time until all are done).
 */
export function statusLines(statuses: StageStatus[]): string[] {
  const pad = Math.max(5, ...statuses.map((s) => s.stage.length));
  const lines = statuses.map((s) => {
    const epochs = `epoch ${s.epoch}/${s.epochs ?? '?'}`;
    const best = s.bestTop1 === null ? '' : `, best ${s.bestTop1.toFixed(2)}%`;
    const left = s.secondsLeft === null ? '' : `, about ${duration(s.secondsLeft)} left`;
    const copied = s.copiedFrom ? ` (copied from ${s.copiedFrom}'s run)` : '';
    const who = s.state === 'training' ? ` (pid ${s.holder})` : copied;
    return `${s.stage.padEnd(pad)}  ${s.state.padEnd(8)} ${epochs}${best}${left}${who}`;
  });
  const count = (state: StageStatus['state']) => statuses.filter((s) => s.state === state).length;
  const done = count('done');
  const left = statuses.reduce((sum, s) => sum + (s.secondsLeft ?? 0), 0);
  const summary = `${done} stage${done === 1 ? '' : 's'} done, ${count('training')} training, ` +
    `${count('stopped')} stopped`;
  const rest = left > 0
    ? `; the begun ones have about ${duration(left)} of training left (one core each, at their own pace so far)` : '';
  return [...lines, summary + rest];
}
