import * as crypto from 'crypto';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { TrainingElsewhereError } from '../errors';
import { isObject } from '../train/run-key';
import { trainingKey } from './reuse';

/**
 * Runs beside each other that may train the same thing (`--reuse-from`: L1's, ThiNet's and regression's plain
 * baselines, the scratch runs of an architecture two prunes share): before a stage starts, its process claims that
 * training under the shared root, and a second process that asks for the same training waits for the first to finish
 * and then copies it (reuse.ts) instead of training it twice at once.
 */

/** A claim's file: which process is training, and where. */
export interface TrainingClaim {
  pid: number;
  host: string;
  dir: string;
  started: string;
}

const CLAIMS = '.training-claims';

/** JSON with every object's keys sorted: the same text however the identity's fields were built. */
function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`;
  if (isObject(value)) {
    return `{${Object.keys(value).sort().map((k) => `${JSON.stringify(k)}:${canonical(value[k])}`).join(',')}}`;
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

/** The claim files this process holds now (two stages of one process may ask for the same training at once). */
const heldHere = new Set<string>();

/**
 * Whether the claim's process still holds it. One of another machine sharing the folder cannot be checked: it is not
 * waited for (the two may train the same). One naming this process that it does not hold is an ended process's whose
 * pid came round again.
 */
function holds(file: string, claim: TrainingClaim): boolean {
  if (claim.host !== os.hostname()) return false;
  if (claim.pid === process.pid) return heldHere.has(file);
  try {
    process.kill(claim.pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM'; // runs, as another user
  }
}

/** How long a claim file that does not parse has been there (ms); 0 where it is gone. */
function unreadableFor(file: string): number {
  try {
    return Date.now() - fs.statSync(file).mtimeMs;
  } catch {
    return 0;
  }
}

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
 * Claims the training of the stage in `dir` under `root`, waiting while a live process holds it (a claim whose
 * process has ended is taken over); resolves to the release. Undefined for a stage no other run can share.
 */
export async function claimTraining(root: string, dir: string, identity: Record<string, unknown>,
  examples: { train: number; test: number }, o: ClaimOptions = {}): Promise<(() => void) | undefined> {
  const file = claimFile(root, identity, examples);
  if (!file) return undefined;
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const mine: TrainingClaim = { pid: process.pid, host: os.hostname(), dir: path.resolve(dir), started: new Date().toISOString() };
  let told = false;
  for (let tries = 0; ; tries++) {
    o.signal?.throwIfAborted();
    try {
      fs.writeFileSync(file, JSON.stringify(mine), { flag: 'wx' });
      heldHere.add(file);
      return () => {
        heldHere.delete(file);
        if (readClaim(file)?.pid === mine.pid) fs.rmSync(file, { force: true });
      };
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    }
    const holder = readClaim(file);
    if (holder ? !holds(file, holder) : unreadableFor(file) > 60_000) {
      fs.rmSync(file, { force: true }); // its process has ended (or died writing it): the next try takes it
      continue;
    }
    if (holder && o.ifHeld === 'exit') throw new TrainingElsewhereError(o.label ?? dir, holder);
    if (holder && !told) {
      told = true;
      o.onWait?.(holder);
    }
    // Soon at first (a short stage), then every pollMs.
    await new Promise((resolve) => setTimeout(resolve, Math.min(o.pollMs ?? 15_000, 100 * 2 ** tries)));
  }
}
