import * as crypto from 'crypto';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { setTimeout as sleep } from 'timers/promises';
import { TrainingElsewhereError } from '../errors';
import { isObject } from '../train/run-key';
import { trainingKey } from './reuse';

/**
 * Runs beside each other that may train the same thing (`--reuse-from`: L1's, ThiNet's and regression's plain
 * baselines, the scratch runs of an architecture two prunes share): before a stage starts, its process claims that
 * training under the shared root, and a second process that asks for the same training waits for the first to finish
 * and then copies it (reuse.ts) instead of training it twice at once. A stage no other run can share is claimed in
 * its own folder, so that two processes never train one stage folder at once (two runs of one command, a stage run by
 * hand beside a scheduler's).
 */

/** A claim's file: which process is training, and where. */
export interface TrainingClaim {
  pid: number;
  host: string;
  dir: string;
  started: string;
  /**
   * When its process started, as the system counts it (Linux: the boot and the clock ticks since it): a process that
   * got the pid of an ended holder later does not hold its claim. Absent where the system does not say.
   */
  processStart?: string;
}

/** A process's start (`<boot id>:<ticks since boot>` from /proc), or undefined where there is no /proc. */
export function processStart(pid: number): string | undefined {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    const ticks = stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19]; // field 22, starttime
    return `${fs.readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim()}:${ticks}`;
  } catch {
    return undefined;
  }
}

const CLAIMS = '.training-claims';

/** JSON with every object's keys sorted: the same text however the identity's fields were built. */
function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`;
  if (isObject(value)) {
    const keys = Object.keys(value).filter((k) => value[k] !== undefined).sort(); // as JSON leaves them out
    return `{${keys.map((k) => `${JSON.stringify(k)}:${canonical(value[k])}`).join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}

/** The claim file of a training (its key and data sizes) under `root`; undefined for a stage no other run can share. */
export function claimFile(root: string, identity: Record<string, unknown>,
  examples: { train: number; test: number }): string | undefined {
  const key = trainingKey(identity);
  if (!key) return undefined;
  const hash = crypto.createHash('sha256').update(canonical({ key, examples })).digest('hex').slice(0, 24);
  return path.join(root, CLAIMS, `${hash}.json`);
}

function readClaim(file: string): TrainingClaim | undefined {
  try {
    return JSON.parse(fs.readFileSync(file, 'utf8')) as TrainingClaim;
  } catch {
    return undefined; // released, or still being written: looked at again on the next try
  }
}

/**
 * The claim file of a stage that only its own folder can hold: beside the folder, hidden, so that removing the folder
 * (`--fresh`, a copy put in its place) leaves the claim with its holder.
 */
export const stageClaimFile = (dir: string) =>
  path.join(path.dirname(path.resolve(dir)), `.${path.basename(dir)}.training-claim.json`);

/** The claim files this process holds now (two stages of one process may ask for the same training at once). */
const heldHere = new Set<string>();

const sameClaim = (a: TrainingClaim | undefined, b: TrainingClaim | undefined) =>
  a !== undefined && b !== undefined && a.pid === b.pid && a.host === b.host && a.started === b.started;

/**
 * Whether a claim of this machine is still held: its process runs (one naming this process is held only if this
 * process holds it; otherwise it is an ended process's whose pid came round again).
 */
function live(file: string, claim: TrainingClaim): boolean {
  if (claim.pid === process.pid) return heldHere.has(file);
  try {
    process.kill(claim.pid, 0);
    // Another process has its pid now: the holder ended (a claim of a machine restarted since, killed processes').
    const now = claim.processStart && processStart(claim.pid);
    return !now || now === claim.processStart;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM'; // runs, as another user
  }
}

/** The claim in `file` while its process on this machine holds it; undefined where none is held (or it is another's). */
export function liveClaim(file: string): TrainingClaim | undefined {
  const claim = readClaim(file);
  return claim && claim.host === os.hostname() && live(file, claim) ? claim : undefined;
}

/** How long a claim file that does not parse has been there (ms); 0 where it is gone. */
function unreadableFor(file: string): number {
  try {
    return Date.now() - fs.statSync(file).mtimeMs;
  } catch {
    return 0;
  }
}

/**
 * Removes the claim `dead` (undefined: a file that never parsed) from `file`, unless another process took it over
 * first and claimed it anew: one taker at a time (`.takeover`, exclusive), and only the claim judged dead goes.
 */
export function takeOver(file: string, dead: TrainingClaim | undefined): void {
  const lock = `${file}.takeover`;
  try {
    fs.writeFileSync(lock, String(process.pid), { flag: 'wx' });
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    if (unreadableFor(lock) > 60_000) fs.rmSync(lock, { force: true }); // its taker died in these few lines
    return; // another process is taking it over: look again
  }
  try {
    const now = readClaim(file);
    if (dead ? sameClaim(now, dead) : now === undefined) fs.rmSync(file, { force: true });
  } finally {
    fs.rmSync(lock, { force: true });
  }
}

const under = (dir: string, root: string) => !path.relative(path.resolve(root), dir).startsWith('..');

export interface ClaimOptions {
  /**
   * While another process holds the training: wait for it (default), or throw a TrainingElsewhereError at once (a
   * scheduler that has other stages to give the process).
   */
  ifHeld?: 'wait' | 'exit';
  /** Names the stage in a TrainingElsewhereError. */
  label?: string;
  /** Told once, when another process (or another stage of this one) holds the training. */
  onWait?: (holder: TrainingClaim) => void;
  /** How often, at most, to look again while another process holds it (default 15 s; sooner at first). */
  pollMs?: number;
  /** Stops the wait with the signal's reason. */
  signal?: AbortSignal;
}

/**
 * Claims the training of the stage in `dir` under the first of `roots` (the `--reuse-from` folders: processes that
 * share that first folder see each other's claims), or in `dir` itself where no other run can share it (or no root is
 * given), waiting while a live process holds it; resolves to the release. A claim whose process has ended is taken
 * over. One that cannot be waited for usefully, of another machine (its process cannot be checked) or of a shared
 * stage outside `roots` (its result would not be found to copy), is left alone and the stage trains unclaimed.
 */
export async function claimTraining(roots: readonly string[], dir: string, identity: Record<string, unknown>,
  examples: { train: number; test: number }, o: ClaimOptions = {}): Promise<() => void> {
  const shared = roots.length > 0 ? claimFile(roots[0], identity, examples) : undefined;
  const file = shared ?? stageClaimFile(dir);
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const mine: TrainingClaim = { pid: process.pid, host: os.hostname(), dir: path.resolve(dir), started: new Date().toISOString(),
    ...(processStart(process.pid) ? { processStart: processStart(process.pid) } : {}) };
  let told = false;
  for (let tries = 0; ; tries++) {
    o.signal?.throwIfAborted();
    try {
      fs.writeFileSync(file, JSON.stringify(mine), { flag: 'wx' });
      heldHere.add(file);
      return () => {
        heldHere.delete(file);
        if (sameClaim(readClaim(file), mine)) fs.rmSync(file, { force: true });
      };
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    }
    const holder = readClaim(file);
    if (holder && (holder.host !== mine.host || (shared && !roots.some((root) => under(holder.dir, root))))) return () => {};
    if (holder ? !live(file, holder) : unreadableFor(file) > 60_000) {
      takeOver(file, holder); // its process has ended (or died writing it): the next try claims it
      continue;
    }
    if (holder && o.ifHeld === 'exit') throw new TrainingElsewhereError(o.label ?? dir, holder);
    if (holder && !told) {
      told = true;
      o.onWait?.(holder);
    }
    // Soon at first (a short stage), then every pollMs.
    const pause = Math.min(o.pollMs ?? 15_000, 100 * 2 ** tries);
    await sleep(pause, undefined, o.signal ? { signal: o.signal } : {}).catch((e: unknown) => {
      o.signal?.throwIfAborted(); // with the signal's own reason
      throw e;
    });
  }
}
