import { spawn, type ChildProcess } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { initBackend, PROFILES, runGrid, shutdownBackend, THREADS_ENV, type Profile } from '@rethink-prune/core';
import { lotteryMethod } from '@rethink-prune/lottery-ticket';
import { l1Method } from '@rethink-prune/method-l1';
import { Queue } from 'bullmq';
import { parse } from 'csv-parse/sync';
import IORedis from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { checkedConnection } from './connection';
import { enqueueGrid } from './enqueue';
import { QUEUE_NAME } from './grid-jobs';
import { queueStatus } from './status';
import { REDIS_TESTED, startRedis, type TestRedis } from './test-util/redis-server';
import { sharedTestDataDir } from '@rethink-prune/datasets';

const CLI = path.join(__dirname, 'cli.ts');
const tmp = (prefix: string) => fs.mkdtempSync(path.join(os.tmpdir(), prefix));
const dataDir = sharedTestDataDir(); // Fashion-MNIST is embedded: only its split cache is written here

interface Spawned { child: ChildProcess; out: () => string; exit: Promise<number | null> }

/** `node <args>` in its own process, from this package's folder. */
function node(args: string[]): Spawned {
  const child = spawn(process.execPath, args, { cwd: path.join(__dirname, '..'), stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout!.on('data', (chunk) => { out += chunk; });
  child.stderr!.on('data', (chunk) => { out += chunk; });
  return { child, out: () => out, exit: new Promise((resolve) => child.once('exit', (code) => resolve(code))) };
}

/** `rethink-prune <args>`, from the source. */
const cli = (args: string[]) => node(['-r', 'ts-node/register/transpile-only', CLI, ...args]);
/** `prune-l1 <args>`, the built command a user runs (its --queue loads this package as a user's install would). */
const PRUNE_L1 = path.join(path.dirname(require.resolve('@rethink-prune/method-l1/package.json')), 'dist', 'cli.js');
async function pruneL1(args: string[]): Promise<{ code: number | null; out: string }> {
  const run = node([PRUNE_L1, ...args]);
  return { code: await run.exit, out: run.out() };
}

// One wasm thread in every process (workers and this one's reference run): three workers share two cores here.
process.env[THREADS_ENV] = '1';
const worker = (url: string, runDir: string, ...more: string[]) =>
  cli(['worker', '--queue', url, '--run-dir', runDir, '--data-dir', dataDir, '--backend', 'wasm',
    '--lock-seconds', '6', '--poll-seconds', '0.3', ...more]);

async function waitFor(what: string, check: () => Promise<boolean>, timeoutMs: number): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > end) throw new Error(`timed out after ${timeoutMs / 1000} s waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

async function stop(workers: Spawned[]): Promise<void> {
  for (const w of workers) if (w.child.exitCode === null && w.child.signalCode === null) w.child.kill('SIGTERM');
  await Promise.all(workers.map((w) => w.exit));
}

/** The results CSV without what is measured, not computed: latencies and seconds. */
function computedColumns(file: string): Array<Record<string, string>> {
  const rows = parse(fs.readFileSync(file, 'utf8'), { columns: true }) as Array<Record<string, string>>;
  return rows.map((row) => Object.fromEntries(Object.entries(row).filter(([k]) => !/latency_ms|_seconds$/.test(k))));
}

/** Every trained stage's final test loss and top-1, by its path in the run directory: they change with any weight. */
function finalEvaluations(root: string): Record<string, unknown> {
  const found: Record<string, unknown> = {};
  const walk = (dir: string) => {
    for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
      const file = path.join(dir, entry.name);
      if (entry.isDirectory()) walk(file);
      else if (entry.name === 'result.json') found[path.relative(root, dir)] = JSON.parse(fs.readFileSync(file, 'utf8')).final;
    }
  };
  walk(root);
  return found;
}

describe.runIf(REDIS_TESTED)('the grid on a Redis queue (redis-server on 127.0.0.1, workers in their own processes)', () => {
  let redis: TestRedis;
  const workers: Spawned[] = [];
  beforeAll(async () => {
    redis = await startRedis();
    await initBackend('wasm');
  });
  afterEach(async (context) => {
    // A failed test shows what its workers said.
    if (context.task.result?.state === 'fail') {
      for (const w of workers) process.stderr.write(`--- worker ${w.child.pid}:\n${w.out().slice(-4000)}\n`);
    }
    await stop(workers.splice(0));
    const client = new IORedis(await checkedConnection(redis.url));
    await client.flushall();
    client.disconnect();
  });
  afterAll(async () => {
    await redis?.stop();
    shutdownBackend();
  });
  const counts = async () => (await queueStatus(redis.url)).counts;

  it('enqueueing the same grid twice adds nothing: one baseline for two variants, their stages and one report', async () => {
    const enqueue = () => pruneL1(['reproduce', '--profile', 'smoke', '--models', 'resnet56-A,resnet56-B',
      '--queue', redis.url, '--run-dir', 'grid']);
    const first = await enqueue();
    expect(first.code).toBe(0);
    // One baseline for both variants, their prune, fine-tune, Scratch-E and B, and the report.
    expect(first.out).toMatch(/10 stage\(s\) put on the queue, 0 already queued or done/);
    expect(first.out).toMatch(/results: grid\/smoke\/results-fashion-mnist.csv under the workers' --run-dir/);
    expect((await enqueue()).out).toMatch(/0 stage\(s\) put on the queue, 10 already queued or done/);
    expect(await counts()).toEqual({ waiting: 10, active: 0, done: 0, failed: 0 });
  }, 120_000);

  it('three workers run a grid of two variants as one process does, also when the baseline\'s worker is killed with -9', async () => {
    // The baseline trains two epochs of 8 steps: its worker is killed once the first is checkpointed.
    const profile: Profile = { ...PROFILES.smoke, epochs: 2, trainLimit: 256, testLimit: 32 };
    const grid = { profile, dataset: 'fashion-mnist' as const, variants: ['resnet56-A', 'resnet56-B'], seeds: 1,
      runDir: 'grid', fresh: false };
    const enqueue = () =>
      enqueueGrid({ url: redis.url, method: l1Method, methodPackage: '@rethink-prune/method-l1', grid, attempts: 2 });
    expect(await enqueue()).toMatchObject({ added: 10, existing: 0 });
    const shared = tmp('shared-');
    const started = Date.now();
    workers.push(worker(redis.url, shared), worker(redis.url, shared), worker(redis.url, shared));
    // The single-process run, here, while the workers run (it fills the time they wait for a lock to expire).
    const reference = tmp('reference-');
    const single = runGrid(l1Method, { ...grid, runDir: reference, dataDir }).then(() =>
      console.log(`queue test: the grid in this process took ${((Date.now() - started) / 1000).toFixed(1)} s`));
    const queue = new Queue(QUEUE_NAME, { connection: await checkedConnection(redis.url) });
    let killed: number | undefined;
    try {
      await waitFor('the baseline past its first epoch', async () => {
        const baseline = (await queue.getActive()).find((job) => job.data.stage === 'baseline');
        const progress = baseline?.progress as { epoch?: number; worker?: string } | undefined;
        if (!progress?.epoch || progress.epoch >= profile.epochs) return false;
        killed = Number(progress.worker!.split(':').pop());
        process.kill(killed, 'SIGKILL');
        return true;
      }, 180_000);
    } finally {
      await queue.close();
    }
    const victim = workers.find((w) => w.child.pid === killed)!;
    expect(await victim.exit).toBe(null); // killed by a signal
    workers.push(worker(redis.url, shared)); // three workers again
    const killedAt = (Date.now() - started) / 1000;
    await waitFor('the report', async () => (await counts()).done === 10, 300_000);
    await single;
    console.log(`queue test: worker ${killed} killed ${killedAt.toFixed(1)} s after the workers started; ` +
      `all 10 stages done after ${((Date.now() - started) / 1000).toFixed(1)} s`);
    expect(await counts()).toEqual({ waiting: 0, active: 0, done: 10, failed: 0 });

    const csv = path.join(shared, 'grid', 'smoke', 'results-fashion-mnist.csv');
    expect(computedColumns(csv)).toEqual(computedColumns(path.join(reference, 'smoke', 'results-fashion-mnist.csv')));
    expect(finalEvaluations(path.join(shared, 'grid'))).toEqual(finalEvaluations(reference));
    expect(Object.keys(finalEvaluations(reference))).toHaveLength(7);
    // The baseline started at least twice: on the killed worker, then resumed at its second epoch on another. On a
    // loaded machine a worker stalled past --lock-seconds loses its lock too, stops, and another resumes the stage
    // (a third start); the results above equal the single process's either way.
    const logs = workers.map((w) => w.out());
    expect(logs.join('').match(/resnet56 seed0 baseline starts/g)!.length).toBeGreaterThanOrEqual(2);
    expect(logs.filter((log, i) => workers[i] !== victim).join('')).toMatch(/l1-norm resnet56 baseline: resuming at epoch 2, batch 0/);
    expect(logs.filter((log) => / starts \(job /.test(log)).length).toBeGreaterThan(1);

    // Done stages are not enqueued again, and nothing runs.
    expect(await enqueue()).toMatchObject({ added: 0, existing: 10, failed: [] });
    await new Promise((resolve) => setTimeout(resolve, 1000));
    expect(await counts()).toEqual({ waiting: 0, active: 0, done: 10, failed: 0 });
    const status = cli(['status', '--queue', redis.url]);
    expect(await status.exit).toBe(0);
    expect(status.out()).toContain(`0 waiting, 0 active, 10 done, 0 failed\nresults`);
    expect(status.out()).toContain(csv);
    expect(status.out()).not.toContain('test-secret');
  }, 600_000);

  it('a lottery-ticket grid (an LR axis, iterative rounds, two scratch starts) runs on workers as in one process', async () => {
    const grid = { profile: PROFILES.smoke, dataset: 'fashion-mnist' as const, variants: ['vgg16-A', 'vgg16-iterative'],
      seeds: 1, runDir: 'tickets', fresh: false, lrs: [0.1, 0.01] };
    const enqueue = () => enqueueGrid({ url: redis.url, method: lotteryMethod,
      methodPackage: '@rethink-prune/lottery-ticket', grid, attempts: 1 });
    // Per LR: a baseline per model (vgg16, vgg16-wl), and per variant its prune (every round) and Scratch-E (both
    // starts, every round); no fine-tuning and no Scratch-B, which lottery tickets skip; then one report.
    expect(await enqueue()).toMatchObject({ added: 2 * (2 + 2 * 2) + 1, existing: 0 });
    const shared = tmp('shared-');
    workers.push(worker(redis.url, shared), worker(redis.url, shared));
    const reference = tmp('reference-');
    await runGrid(lotteryMethod, { ...grid, runDir: reference, dataDir });
    await waitFor('the report', async () => (await counts()).done === 13, 300_000);
    const csv = path.join(shared, 'tickets', 'smoke', 'results-fashion-mnist.csv');
    expect(computedColumns(csv)).toEqual(computedColumns(path.join(reference, 'smoke', 'results-fashion-mnist.csv')));
    // Two rounds of the iterative variant and one of VGG-16-A, at each LR.
    expect(computedColumns(csv).filter((row) => row.row_kind === 'run')).toHaveLength(2 * (2 + 1));
    expect(fs.existsSync(path.join(shared, 'tickets', 'smoke', 'results-fashion-mnist-tickets.md'))).toBe(true);
  }, 400_000);

  it('a stage that throws is tried as often as configured, then failed; status shows its error and --retry queues it again', async () => {
    const grid = { profile: PROFILES.smoke, dataset: 'cifar10' as const, variants: ['vgg16-A'], seeds: 1, runDir: 'grid', fresh: false };
    await enqueueGrid({ url: redis.url, method: l1Method, methodPackage: '@rethink-prune/method-l1', grid, attempts: 2, backoffMs: 200 });
    workers.push(worker(redis.url, tmp('shared-'))); // its --data-dir has no CIFAR-10
    await waitFor('the baseline to fail', async () => (await counts()).failed === 1, 60_000);
    const status = cli(['status', '--queue', redis.url]);
    expect(await status.exit).toBe(0);
    expect(status.out()).toMatch(/failed:\n {2}l1-norm vgg16 seed0 baseline \(after 2 of 2 tries\): .*cifar10/i);
    expect(workers[0].out().match(/vgg16 seed0 baseline starts/g)).toHaveLength(2);
    // Every other stage waits for it rather than failing: none done or failed, though one may be active for the
    // moment the worker takes to look at its needs and put it back.
    const waiting = await counts();
    expect(waiting).toMatchObject({ done: 0, failed: 1 });
    expect(waiting.waiting + waiting.active).toBe(5);
    expect(waiting.active).toBeLessThanOrEqual(1);

    await stop(workers.splice(0));
    const retry = cli(['status', '--queue', redis.url, '--retry']);
    expect(await retry.exit).toBe(0);
    expect(retry.out()).toContain('1 failed stage(s) waiting again: l1-norm vgg16 seed0 baseline\n');
    // A stage the stopped worker held active stays so until a worker finds it stalled.
    const retried = await counts();
    expect(retried).toMatchObject({ done: 0, failed: 0 });
    expect(retried.waiting + retried.active).toBe(6);
    // Retried with all its tries: two more, then failed again.
    workers.push(worker(redis.url, tmp('shared-')));
    await waitFor('the baseline to fail again', async () => (await counts()).failed === 1, 60_000);
    expect(workers[0].out().match(/vgg16 seed0 baseline starts/g)).toHaveLength(2);
  }, 120_000);

  it('a bad URL, Redis down or a wrong password: a clear error within seconds', async () => {
    const down = `redis://127.0.0.1:${redis.port + 1}`;
    for (const [args, code, message] of [
      [['status', '--queue', down], 1, `cannot use Redis at ${down}: connect ECONNREFUSED`],
      [['worker', '--queue', down, '--backend', 'cpu'], 1, 'ECONNREFUSED'],
      [['status', '--queue', `redis://:wrong@127.0.0.1:${redis.port}`], 1, 'refused the user or password'],
      [['status', '--queue', 'http://127.0.0.1:6379'], 2, 'the scheme is http, not redis or rediss'],
      [['status'], 2, 'status needs --queue'],
    ] as Array<[string[], number, string]>) {
      const started = Date.now();
      const run = cli(args);
      expect(await run.exit).toBe(code);
      expect(run.out()).toContain(message);
      expect(Date.now() - started).toBeLessThan(15_000);
    }
    // The method's CLI says the same.
    const viaMethod = await pruneL1(['reproduce', '--profile', 'smoke', '--queue', down]);
    expect(viaMethod.code).toBe(1);
    expect(viaMethod.out).toContain('ECONNREFUSED');
    const badUrl = await pruneL1(['reproduce', '--queue', 'localhost:6379']);
    expect(badUrl).toMatchObject({ code: 2 });
    expect(badUrl.out).toContain('the scheme is localhost, not redis');
  }, 120_000);
});
