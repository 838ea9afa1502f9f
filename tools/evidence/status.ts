/**
 * Where a study's runs stand (`evidence status`): every stage folder of its run directory that has begun, with its
 * epochs and best top-1, whether a process of this machine trains it now, and for one not finished the time its
 * remaining epochs take at its median epoch so far. Stages that have not begun have no folder and are not listed.
 */
import * as fs from 'fs';
import * as path from 'path';
import { liveClaim, stageClaimFile, type TrainingClaim } from '../../packages/core/src/experiment/training-claim';
import { CHECKPOINT_DIR, CHECKPOINT_STATE_FILE } from '../../packages/core/src/train/checkpoint';
import { metricsFile, readEpochMetrics } from '../../packages/core/src/train/metrics-file';

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
}

/** Folders of a stage that are not stages themselves (its models, its checkpoint, a state kept for another run). */
const NOT_STAGES = /^(best|final|init|pruned|checkpoint|checkpoint\.copying|after-epoch-\d+(\.writing)?)$/;

const readJson = <T>(file: string): T | undefined =>
  fs.existsSync(file) ? (JSON.parse(fs.readFileSync(file, 'utf8')) as T) : undefined;

/** The claims of stages other runs can share, by the folder they train (in `.training-claims/` of these roots). */
function sharedClaims(roots: string[]): Map<string, TrainingClaim> {
  const claims = new Map<string, TrainingClaim>();
  for (const dir of roots.map((root) => path.join(root, '.training-claims')).filter((d) => fs.existsSync(d))) {
    for (const name of fs.readdirSync(dir).filter((n) => n.endsWith('.json'))) {
      const claim = liveClaim(path.join(dir, name));
      if (claim) claims.set(path.resolve(claim.dir), claim);
    }
  }
  return claims;
}

/** What a finished stage's result.json and a begun one's checkpoint state say (the fields read here). */
type TrainResultFields = { epochs: number; bestTop1: number; trainSeconds?: number };
type CheckpointFields = {
  epoch: number;
  bestTop1: number;
  runKey?: { recipe?: { epochs?: number } };
  sharedStart?: { epochs: number };
};

/** The median of a stage's own epochs' seconds (a Scratch-B's shared first epochs were Scratch-E's). */
function medianEpochSeconds(dir: string, sharedEpochs: number): number | null {
  if (!fs.existsSync(metricsFile(dir))) return null;
  const seconds = readEpochMetrics(metricsFile(dir)).slice(sharedEpochs).map((e) => e.seconds).sort((a, b) => a - b);
  return seconds.length > 0 ? seconds[Math.floor(seconds.length / 2)] : null;
}

function statusOf(runDir: string, dir: string, shared: Map<string, TrainingClaim>): StageStatus | undefined {
  const stage = path.relative(runDir, dir);
  const result = readJson<TrainResultFields>(path.join(dir, 'result.json'));
  if (result?.trainSeconds !== undefined) {
    const { epochs, bestTop1 } = result;
    return { stage, state: 'done', epoch: epochs, epochs, bestTop1, secondsLeft: null };
  }
  const state = readJson<CheckpointFields>(path.join(dir, CHECKPOINT_DIR, CHECKPOINT_STATE_FILE));
  if (!state) return undefined;
  const epochs = state.runKey?.recipe?.epochs ?? null;
  const median = medianEpochSeconds(dir, state.sharedStart?.epochs ?? 0);
  const holder = liveClaim(stageClaimFile(dir)) ?? shared.get(path.resolve(dir));
  return {
    stage,
    state: holder ? 'training' : 'stopped',
    epoch: state.epoch,
    epochs,
    bestTop1: state.epoch > 0 ? state.bestTop1 : null,
    secondsLeft: epochs !== null && median !== null ? Math.round((epochs - state.epoch) * median) : null,
    ...(holder ? { holder: holder.pid } : {}),
  };
}

/** Every begun stage under `runDir`, in folder order; `claimRoots` also hold claims of shared stages. */
export function stageStatuses(runDir: string, claimRoots = [path.dirname(runDir), runDir]): StageStatus[] {
  const shared = sharedClaims(claimRoots);
  const statuses: StageStatus[] = [];
  const walk = (dir: string) => {
    const status = statusOf(runDir, dir, shared);
    if (status) statuses.push(status);
    const folders = fs.readdirSync(dir, { withFileTypes: true })
      .filter((entry) => entry.isDirectory() && !entry.name.startsWith('.') && !NOT_STAGES.test(entry.name))
      .map((entry) => entry.name).sort();
    for (const name of folders) walk(path.join(dir, name));
  };
  if (fs.existsSync(runDir)) walk(runDir);
  return statuses;
}

const duration = (seconds: number) => (seconds >= 3600
  ? `${Math.floor(seconds / 3600)} h ${Math.round((seconds % 3600) / 60)} min`
  : `${Math.round(seconds / 60)} min`);

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
    const who = s.state === 'training' ? ` (pid ${s.holder})` : '';
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
