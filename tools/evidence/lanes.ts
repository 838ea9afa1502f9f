/**
 * A study's stages in several processes side by side (`evidence run --lanes N`): the grid's stage graph (the queue's
 * jobs: a shared baseline, then each variant's prune, fine-tune, Scratch-E and Scratch-B) decides what may start, and
 * each stage runs as the study's own command with `--stage S --models V --seed K`, so that one seed's variants train
 * at once instead of one after another. A machine that is not kept between sessions gets a seed done in one.
 */
import { spawn, type ChildProcess } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import {
  isMethodDefinition, methodVariant, profileByName, TRAINING_ELSEWHERE_EXIT_CODE, type MethodDefinition, type StageName,
} from '@rethink-prune/core';
import { gridJobs } from '../../packages/queue/src/grid-jobs';
import { studyRunArgs, type Study } from './studies';

/** One stage to run: the jobs with the ids in `needs` must have finished first. */
export interface LaneJob {
  id: string;
  /** `l1-norm resnet56-A seed0 finetune`. */
  label: string;
  /** The seed it trains: of the ready stages, an earlier seed's start first. */
  seed: number;
  stage: StageName;
  needs: string[];
  /**
   * Ready before what it needs has finished, once this says so (looked at as jobs end, and every `pollMs` while it
   * waits): a second hooked baseline needs only the plain baseline that the first one's stage trains before its own.
   */
  readyEarly?: () => boolean;
  /** The command's arguments after `node`. */
  args: string[];
}

/** The method a study's package exports (its CLI's command). */
function studyMethod(s: Study): { method: MethodDefinition<any>; packageName: string } {
  const dir = path.resolve(__dirname, '../../packages', s.packageDir);
  const pkg = require(path.join(dir, 'package.json')) as { name: string; bin: Record<string, string> };
  const method = Object.values(require(dir) as Record<string, unknown>)
    .find((v) => isMethodDefinition(v) && Object.keys(pkg.bin).includes(v.command));
  if (!isMethodDefinition(method)) throw new Error(`${pkg.name} exports no method whose command is its CLI's (${Object.keys(pkg.bin)})`);
  return { method, packageName: pkg.name };
}

/**
 * The study's stages as jobs (the report left out: the run that follows them writes the table), each with the
 * command that runs it alone; `seed` keeps one seed's.
 */
export function laneJobs(s: Study, dataDir: string, runDir: string, seed?: number): LaneJob[] {
  const { method, packageName } = studyMethod(s);
  const grid = { profile: profileByName(s.profile), dataset: s.dataset, variants: s.variants, seeds: s.seeds, runDir,
    fresh: false, ...(s.lrs ? { lrs: s.lrs } : {}) };
  const jobs = gridJobs(method, packageName, grid).filter((j) => j.data.stage !== 'report')
    .filter((j) => seed === undefined || j.data.seed === seed);
  type Data = (typeof jobs)[number]['data'];
  const seedDir = (d: Data) => path.join(runDir, s.profile, s.dataset, methodVariant(method, d.variant!).base,
    `seed${d.seed}`, ...(d.lr === undefined ? [] : [`lr${d.lr}`]));
  // A second baseline of a model and seed (other hooks: SFP's from the trained model) waits for the first only because
  // the first trains the plain baseline they share: once that has finished, the two train side by side.
  const plainBaselineDone = (d: Data) => () => fs.existsSync(path.join(seedDir(d), 'baseline', 'result.json'));
  // Scratch-B needs only the state Scratch-E keeps where their LRs part: it trains beside Scratch-E's second half.
  const scratchEKept = (d: Data) => () => {
    const scratchE = path.join(seedDir(d), d.variant!, 'scratch-e');
    return fs.existsSync(scratchE) && fs.readdirSync(scratchE).some((name) => /^after-epoch-\d+$/.test(name) &&
      fs.existsSync(path.join(scratchE, name, 'checkpoint', 'state.json')));
  };
  const readyEarly = (d: Data) => (d.stage === 'baseline' && d.needs.length > 0 ? plainBaselineDone(d)
    : d.stage === 'scratch-b' ? scratchEKept(d) : undefined);
  return jobs.map(({ id, data }) => ({
    id, label: data.label, seed: data.seed ?? 0, stage: data.stage as StageName, needs: data.needs,
    ...(readyEarly(data) ? { readyEarly: readyEarly(data) } : {}),
    args: [...studyRunArgs({ ...s, variants: [data.variant!], ...(data.lr === undefined ? {} : { lrs: [data.lr] }) },
      dataDir, runDir, data.seed), '--stage', data.stage],
  }));
}

/**
 * What a stage trains, in its own model's baseline epochs, to order the stages that are ready: Scratch-B the epochs of
 * int(E × FLOPs ratio) after the half it shares with Scratch-E (about E), fine-tuning a quarter (the seed's 40 of
 * 160), a prune a little (its method's own cost; above nothing, so that a prune, which opens the stages after it,
 * goes before another variant's Scratch-E). Chains of different models compare only roughly.
 */
const STAGE_WORK: Record<StageName, number> = { baseline: 1, prune: 0.1, finetune: 0.25, 'scratch-e': 1, 'scratch-b': 1 };

/**
 * The work on each job's longest chain (itself, then what waits on it), by id: of the ready jobs, the longest starts
 * first.
 */
function chainWork(jobs: LaneJob[]): Map<string, number> {
  const work = new Map<string, number>();
  const visiting = new Set<string>(); // a cycle counts once round: runLanes reports it
  const of = (j: LaneJob): number => {
    if (work.has(j.id) || visiting.has(j.id)) return work.get(j.id) ?? 0;
    visiting.add(j.id);
    work.set(j.id, STAGE_WORK[j.stage] + Math.max(0, ...jobs.filter((d) => d.needs.includes(j.id)).map(of)));
    return work.get(j.id)!;
  };
  jobs.forEach(of);
  return work;
}

/**
 * Runs the jobs, at most `lanes` at once, each as soon as every job it needs has finished (of the ready ones, the
 * earliest seed's first, and of one seed's the one with the most training on its chain: a lane that one seed's stages
 * leave free trains the next seed's, and each seed ends as early as it can, so that a session that stops the run
 * leaves finished seeds rather than every seed half-trained); `run` gives a job's exit code, and is told when the job runs alone:
 * nothing runs beside it and nothing else can start before it ends (a seed's baseline, which everything else
 * needs), so it may take every core. After a failure no job starts, the running ones finish, and the error names the
 * failed stages (what finished is kept: every stage resumes).
 *
 * A job may be put off (`mayDefer`, where something else could use its lane): one that ends with
 * TRAINING_ELSEWHERE_EXIT_CODE (another process trains the same stage now, core's training-claim.ts) goes back, and
 * runs again in the first lane that has no ready job to take, told to wait for that process (then it copies the stage).
 */
export async function runLanes(jobs: LaneJob[], lanes: number,
  run: (job: LaneJob, lane: number, alone: boolean, mayDefer: boolean) => Promise<number>,
  o: { pollMs?: number } = {}): Promise<void> {
  const ids = new Set(jobs.map((j) => j.id));
  const unknown = jobs.flatMap((j) => j.needs.filter((n) => !ids.has(n)).map((n) => `${j.label} needs ${n}`));
  if (unknown.length > 0) throw new Error(`stages that need a stage not in this run: ${unknown.join('; ')}`);
  const work = chainWork(jobs);
  const byOrder = (a: LaneJob, b: LaneJob) => a.seed - b.seed || work.get(b.id)! - work.get(a.id)!;
  const done = new Set<string>();
  const waiting = [...jobs].sort(byOrder); // stable: ties keep the grid's order
  const putOff: LaneJob[] = []; // stopped while another process trains their stage
  const running = new Map<number, Promise<{ lane: number; job: LaneJob; mayDefer: boolean; code: number }>>();
  const failed: string[] = [];
  let pollTimer: NodeJS.Timeout | undefined;
  const ready = (j: LaneJob) => j.needs.every((n) => done.has(n)) || (j.readyEarly?.() ?? false);
  for (;;) {
    for (let lane = 1; lane <= lanes && failed.length === 0; lane++) {
      if (running.has(lane)) continue;
      const next = waiting.findIndex(ready);
      if (next < 0 && putOff.length === 0) break;
      const [job] = next >= 0 ? waiting.splice(next, 1) : putOff.splice(0, 1);
      // Nothing else runs and no other job is ready, nor may be before this one ends: it may take every core.
      const alone = running.size === 0 && !waiting.some((j) => ready(j) || j.readyEarly) && putOff.length === 0;
      const mayDefer = next >= 0 && !alone;
      running.set(lane, run(job, lane, alone, mayDefer).then((code) => ({ lane, job, mayDefer, code })));
    }
    if (running.size === 0) {
      // Nothing runs and nothing can start: done, failed, or stages that wait on each other.
      if (failed.length === 0 && waiting.length > 0) {
        throw new Error(`stages that can never start (they need each other): ${waiting.map((j) => j.label).join(', ')}`);
      }
      break;
    }
    // A job that may be ready early is looked at again every pollMs while it waits.
    const poll = waiting.some((j) => j.readyEarly) && running.size < lanes
      ? new Promise<undefined>((resolve) => { pollTimer = setTimeout(resolve, o.pollMs ?? 60_000, undefined); }) : undefined;
    const ended = await Promise.race([...running.values(), ...(poll ? [poll] : [])]).finally(() => clearTimeout(pollTimer));
    if (!ended) continue;
    const { lane, job, mayDefer, code } = ended;
    running.delete(lane);
    if (code === TRAINING_ELSEWHERE_EXIT_CODE && mayDefer) {
      putOff.push(job);
      putOff.sort(byOrder);
    } else if (code === 0) done.add(job.id);
    else failed.push(`${job.label} (exit ${code})`);
  }
  if (failed.length > 0) {
    throw new Error(`failed: ${failed.join(', ')}; the finished stages are kept, and a run again resumes the rest`);
  }
}

/**
 * Counts each group's jobs down as they finish (a study's seed: its stages): `finished(job)`, called once per job
 * that ended well, says whether it was the last of its group.
 */
export function groupCountdown(jobs: LaneJob[], groupOf: (j: LaneJob) => string): (j: LaneJob) => boolean {
  const left = new Map<string, number>();
  for (const j of jobs) left.set(groupOf(j), (left.get(groupOf(j)) ?? 0) + 1);
  return (j) => {
    const n = (left.get(groupOf(j)) ?? 0) - 1;
    left.set(groupOf(j), n);
    return n === 0;
  };
}

/** The child processes running now, stopped with this process (Ctrl-C, or a session's end). */
const children = new Set<ChildProcess>();
let signalsHandled = false;
function stopChildrenOnSignals(): void {
  if (signalsHandled) return;
  signalsHandled = true;
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.once(signal, () => {
      for (const child of children) child.kill(signal);
      process.stderr.write(`evidence: ${signal}: stopped ${children.size} stage(s); a run again resumes them\n`);
      process.exit(128 + os.constants.signals[signal]);
    });
  }
}

/**
 * The wasm/OpenMP threads of a stage that shares the cores with `lanes` − 1 others (1: it runs alone):
 * RETHINK_PRUNE_THREADS where set, else the cores shared out.
 */
export const laneThreads = (lanes: number, cores = os.availableParallelism()) =>
  process.env.RETHINK_PRUNE_THREADS || String(Math.max(1, Math.floor(cores / lanes)));

/**
 * A job as a child process on `threads` threads (RETHINK_PRUNE_THREADS), its output lines prefixed with its lane; its
 * exit code (1 where it could not start).
 */
export function spawnJob(job: LaneJob, lane: number, threads: string, mayDefer = false): Promise<number> {
  stopChildrenOnSignals();
  // Deferred, it stops at once where another process trains its stage now (runLanes tries it again later).
  const args = mayDefer ? [...job.args, '--if-training-elsewhere', 'exit'] : job.args;
  process.stderr.write(`[lane ${lane}] ${job.label} (${threads} thread(s)): node ${args.join(' ')}\n`);
  const child = spawn(process.execPath, args, { env: { ...process.env, RETHINK_PRUNE_THREADS: threads },
    stdio: ['ignore', 'pipe', 'pipe'] });
  children.add(child);
  const prefixed = (from: NodeJS.ReadableStream, to: NodeJS.WriteStream) => {
    let rest = '';
    from.setEncoding('utf8'); // whole characters per chunk
    from.on('data', (chunk: string) => {
      const lines = (rest + chunk).split('\n');
      rest = lines.pop()!;
      for (const line of lines) to.write(`[lane ${lane}] ${line}\n`);
    });
    return () => { if (rest) to.write(`[lane ${lane}] ${rest}\n`); };
  };
  const flushes = [prefixed(child.stdout, process.stdout), prefixed(child.stderr, process.stderr)];
  return new Promise((resolve) => {
    child.once('error', (e) => {
      children.delete(child);
      process.stderr.write(`[lane ${lane}] ${job.label} could not start: ${e.message}\n`);
      resolve(1);
    });
    child.once('close', (code) => {
      children.delete(child);
      for (const flush of flushes) flush();
      resolve(code ?? 1);
    });
  });
}
