import * as os from 'os';
import * as path from 'path';
import {
  isMethodDefinition, loadTrainingData, requireInstalled, runExperiment, runGrid, StaleStageError, type EpochProgress,
  type ExperimentData, type MethodDefinition,
} from '@rethink-prune/core';
import { DelayedError, Queue, UnrecoverableError, Worker, type Job } from 'bullmq';
import { checkedConnection } from './connection';
import { gridResults, QUEUE_NAME, type StageJobData } from './grid-jobs';
import { redactUrl } from './redis-url';

export interface WorkerOptions {
  url: string;
  /** The shared directory a job's relative run directory is taken from. */
  runDir: string;
  dataDir: string;
  /** How long a job's lock lasts without renewal: a worker lost longer than this has its stage handed on. */
  lockMs?: number;
  /** How often a stage whose prerequisites run elsewhere looks again. */
  pollMs?: number;
  log?: (line: string) => void;
  /** Method packages outside @rethink-prune/ this worker may import (a user's own method). */
  methodPackages?: string[];
}

/** What a running stage shows in `status`. */
export interface StageProgress extends EpochProgress {
  worker: string;
}

/**
 * A job's lock lasts this long without renewal. Renewal needs the event loop, which training gives a turn between
 * steps, but evaluation and pruning hold it for longer: the lock must outlast them.
 */
export const DEFAULT_LOCK_MS = 120_000;

/** `host:pid`, in progress and logs. */
export const WORKER_ID = `${os.hostname()}:${process.pid}`;

/** Packages a worker imports without being told: ours. Others (a user's own method) are named by `methodPackages`. */
const OUR_SCOPE = '@rethink-prune/';

/** The method a job names: among the exports of its package, installed where the worker runs (or beside core). */
function loadMethod(pkg: string, command: string, allowed: readonly string[]): MethodDefinition<any> {
  // Job data comes from whoever can write to Redis: it names no module the worker was not told to run.
  if (!pkg.startsWith(OUR_SCOPE) && !allowed.includes(pkg)) {
    throw new UnrecoverableError(`this worker runs methods of ${OUR_SCOPE}* only; start it with --method-packages ${pkg} to allow ${pkg}`);
  }
  const exports = requireInstalled(pkg) as Record<string, unknown> | undefined;
  if (!exports) throw new Error(`this worker cannot load ${pkg}: install it here (npm install ${pkg})`);
  const method = Object.values(exports).find((v) => isMethodDefinition(v) && v.command === command);
  if (!method) throw new UnrecoverableError(`${pkg} exports no method whose command is ${command}`);
  return method as MethodDefinition<any>;
}

/**
 * A stage whose prerequisites are not all completed (waiting, running, or failed until retried) goes back to the
 * queue, delayed, without spending an attempt, and looks again later.
 */
async function waitForNeeds(job: Job<StageJobData>, token: string | undefined, queue: Queue, pollMs: number) {
  for (const id of job.data.needs) {
    const state = await queue.getJobState(id);
    if (state === 'completed') continue;
    // A failed need is waited for too: 'rethink-prune status --retry' tries it again, and then this one goes on.
    if (state === 'unknown') {
      throw new UnrecoverableError(`it needs ${id}, which is not on the queue (removed?); enqueue the grid again`);
    }
    await job.moveToDelayed(Date.now() + pollMs, token);
    throw new DelayedError();
  }
}

/**
 * A worker: takes one stage at a time from the queue and runs it with core's pipeline in the shared run directory.
 * A stage interrupted anywhere (this process killed, the machine lost) is handed to another worker once its lock
 * expires, and resumes from its last checkpoint there. Resolves when the worker is closed.
 */
export async function startWorker(o: WorkerOptions): Promise<Worker<StageJobData>> {
  const connection = await checkedConnection(o.url, { forWorker: true });
  const log = o.log ?? ((line: string) => process.stderr.write(`${line}\n`));
  const queue = new Queue(QUEUE_NAME, { connection });
  const lockDuration = o.lockMs ?? DEFAULT_LOCK_MS;
  /** The running job's abort: a lost lock means another worker may take the stage, so this one stops it. */
  let current: { id?: string; abort: AbortController } | undefined;
  const data = new Map<string, ExperimentData>();
  const dataOf = (dataset: StageJobData['grid']['dataset']) => {
    if (!data.has(dataset)) data.set(dataset, loadTrainingData(dataset, o.dataDir) as ExperimentData);
    return data.get(dataset)!;
  };

  const run = async (job: Job<StageJobData>, token?: string) => {
    await waitForNeeds(job, token, queue, o.pollMs ?? 10_000);
    const { grid, stage, label } = job.data;
    const method = loadMethod(job.data.methodPackage, job.data.command, o.methodPackages ?? []);
    const runDir = path.resolve(o.runDir, grid.runDir);
    if (path.relative(path.resolve(o.runDir), runDir).startsWith('..') || path.isAbsolute(grid.runDir)) {
      throw new UnrecoverableError(`run dir ${grid.runDir} is not inside this worker's --run-dir ${o.runDir}`);
    }
    const started = Date.now();
    log(`${WORKER_ID}: ${label} starts (job ${job.id}, attempt ${job.attemptsMade + 1})`);
    current = { id: job.id, abort: new AbortController() };
    try {
      if (stage === 'report') {
        const rows = await runGrid(method, { ...grid, runDir, dataDir: o.dataDir }, dataOf(grid.dataset));
        return { results: gridResults({ ...grid, runDir }), rows: rows.length };
      }
      const onEpoch = (p: EpochProgress) => {
        job.updateProgress({ ...p, worker: WORKER_ID } satisfies StageProgress).catch(() => undefined);
      };
      await runExperiment(method, job.data.variant!, {
        profile: grid.profile, seed: job.data.seed!, data: dataOf(grid.dataset),
        runRoot: path.join(runDir, grid.profile.name), only: stage, fresh: grid.fresh, onEpoch,
        signal: current.abort.signal, ...(job.data.lr === undefined ? {} : { lr: job.data.lr }),
        ...(grid.rounds === undefined ? {} : { rounds: grid.rounds }),
      });
      return { seconds: Math.round((Date.now() - started) / 1000) };
    } catch (e) {
      log(`${WORKER_ID}: ${label} failed: ${(e as Error).message}`);
      // A stale stage fails the same way on every worker: trying again cannot help.
      if (e instanceof StaleStageError) throw new UnrecoverableError((e as Error).message);
      throw e;
    } finally {
      current = undefined;
      log(`${WORKER_ID}: ${label} ends after ${((Date.now() - started) / 1000).toFixed(1)} s`);
    }
  };

  const worker = new Worker<StageJobData>(QUEUE_NAME, run, {
    // A lost worker's stage moves on within about lockDuration + 2 × stalledInterval.
    connection, concurrency: 1, lockDuration, stalledInterval: Math.max(1000, lockDuration / 4), maxStalledCount: 2,
  });
  worker.on('error', (e) => log(`${WORKER_ID}: queue error at ${redactUrl(o.url)}: ${e.message}`));
  worker.on('lockRenewalFailed', (ids: string[]) => {
    if (!current?.id || !ids.includes(current.id)) return;
    current.abort.abort(new Error(`lost the lock of job ${current.id}: another worker may run it now, so this one ` +
      `stops it (was this process stalled longer than --lock-seconds ${lockDuration / 1000}?)`));
  });
  worker.on('closed', () => { void queue.close(); });
  try {
    await worker.waitUntilReady();
  } catch (e) {
    await worker.close(true);
    throw e;
  }
  return worker;
}
