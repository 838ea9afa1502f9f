import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { writeFileAtomic } from '../fs-atomic';

/**
 * `auto` by measurement: the training paths installed here, each timed in its own process for a few seconds on a
 * narrow model of the family about to train, the fastest chosen and cached under the user's cache directory with
 * what decides it (CPU model, thread count, library versions, family) as its key.
 */
export const AUTO_PATHS = ['tfjs-node-gpu', 'wasm+native', 'tfjs-node', 'wasm'] as const;
export type AutoPath = (typeof AUTO_PATHS)[number];

export interface AutoChoice {
  path: AutoPath;
  /** Training images per second of every path tried, or why it could not run. */
  measured: Partial<Record<AutoPath, number | string>>;
  family: string;
  /** When it was measured (ISO time). */
  at: string;
}

export const AUTO_ENV = 'RETHINK_PRUNE_AUTO';
export const CACHE_ENV = 'RETHINK_PRUNE_CACHE_DIR';

export function cacheDir(): string {
  return process.env[CACHE_ENV] ?? path.join(process.env.XDG_CACHE_HOME ?? path.join(os.homedir(), '.cache'), 'rethink-prune');
}

/** What makes a measured choice valid: the machine, the thread count, the libraries and the model family. */
export function autoKey(family: string, threads: number, libraries: Record<string, string>): string {
  const cpu = os.cpus()[0]?.model ?? 'unknown cpu';
  const libs = Object.entries(libraries).sort().map(([name, version]) => `${name} ${version}`).join(', ');
  return `${cpu} | ${os.cpus().length} cores, ${threads} threads | node ${process.version} | ${libs} | ${family}`;
}

export interface ChooseOptions {
  family: string;
  key: string;
  candidates: AutoPath[];
  /** Images per second of one path (it throws where the path does not start). */
  measure(path: AutoPath): number;
  cacheFile?: string;
}

/** The cached choice for `key`, or each candidate measured and the fastest kept (and cached). */
export function chooseByMeasurement(o: ChooseOptions): AutoChoice & { cached: boolean } {
  const file = o.cacheFile ?? path.join(cacheDir(), 'auto-backend.json');
  let cache: Record<string, AutoChoice> = {};
  try {
    cache = JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch {
    cache = {}; // none yet, or unreadable: measure again
  }
  const hit = cache[o.key];
  if (hit && o.candidates.includes(hit.path)) return { ...hit, cached: true };
  const measured: AutoChoice['measured'] = {};
  for (const candidate of o.candidates) {
    try {
      measured[candidate] = Math.round(10 * o.measure(candidate)) / 10;
    } catch (e) {
      measured[candidate] = (e as Error).message.split('\n')[0];
    }
  }
  const speeds = o.candidates.filter((c) => typeof measured[c] === 'number');
  if (speeds.length === 0) throw new Error(`auto: no training path could be measured: ${JSON.stringify(measured)}`);
  const best = speeds.reduce((a, b) => ((measured[b] as number) > (measured[a] as number) ? b : a));
  const choice: AutoChoice = { path: best, measured, family: o.family, at: new Date().toISOString() };
  try {
    fs.mkdirSync(path.dirname(file), { recursive: true });
    writeFileAtomic(file, JSON.stringify({ ...cache, [o.key]: choice }, null, 2));
  } catch {
    // a read-only cache directory costs a measurement next time, nothing else
  }
  return { ...choice, cached: false };
}

/** `wasm+native 48.1 img/s (tfjs-node 14.2, wasm 11.9) on resnet, measured now` — the run's first line says it. */
export function describeChoice(choice: AutoChoice & { cached: boolean }): string {
  const others = Object.entries(choice.measured).filter(([p]) => p !== choice.path)
    .map(([p, v]) => (typeof v === 'number' ? `${p} ${v}` : `${p}: ${v}`));
  return `auto chose ${choice.path}: ${choice.measured[choice.path]} img/s training a narrow ${choice.family}` +
    `${others.length > 0 ? ` (${others.join('; ')})` : ''}, ${choice.cached ? `measured ${choice.at}, cached` : 'measured now'}`;
}

/** Times one path in a child process (backends never mix in one process): training images per second. */
export function measureInChild(candidate: AutoPath, family: string, seconds = 3): number {
  // Built: the compiled script; from source (tests): the same file through ts-node.
  const script = path.join(__dirname, 'measure-path.js');
  const run = fs.existsSync(script) ? [script] : ['-r', 'ts-node/register/transpile-only', path.join(__dirname, 'measure-path.ts')];
  const child = spawnSync(process.execPath, [...run, candidate, family, String(seconds)],
    { encoding: 'utf8', env: { ...process.env, [AUTO_ENV]: 'order' }, timeout: 120_000 });
  const line = child.stdout?.trim().split('\n').pop() ?? '';
  const speed = Number(line);
  if (child.status !== 0 || !Number.isFinite(speed)) {
    const why = (child.stderr ?? '').trim().split('\n').filter((l) => /Error|unavailable|cannot/.test(l)).pop();
    throw new Error(why ?? `exit ${child.status ?? child.signal}`);
  }
  return speed;
}
