import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { afterAll, describe, expect, it } from 'vitest';
import { TrainingElsewhereError } from '../errors';
import { claimFile, claimTraining, processStart, stageClaimFile, takeOver, type TrainingClaim } from './training-claim';

// Identities as run.ts writes them (cut to their fields), literal.
const baseline = (method: string, seed = 0) => ({ method, profile: 'small', seed, data: { dataset: 'cifar10', limit: {} },
  stage: 'baseline', model: 'vgg16', spec: { cfg: [16, 'M'] }, recipe: { epochs: 40, lr: 0.05 }, hooks: null });
const subset = { train: 10000, test: 2000 };

describe('claimTraining: one process trains what runs beside it share', () => {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'claim-'));
  afterAll(() => fs.rmSync(root, { recursive: true, force: true }));
  const holder = (pid: number, host = os.hostname()): TrainingClaim =>
    ({ pid, host, dir: path.join(root, 'thinet', 'baseline'), started: '2026-12-07T02:00:00.000Z' });
  const held = (claim: TrainingClaim, identity = baseline('thinet')) => {
    const file = claimFile(root, identity, subset)!;
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file, JSON.stringify(claim));
    return file;
  };
  /** The pid of a process that has ended. */
  const ended = () => spawnSync(process.execPath, ['-e', '']).pid!;

  it('one file per training: the same for two methods and any field order, another for another seed or data size', () => {
    const reordered = Object.fromEntries(Object.entries(baseline('regression')).reverse());
    expect(claimFile(root, baseline('thinet'), subset)).toBe(claimFile(root, reordered, subset));
    expect(claimFile(root, baseline('thinet'), subset)).not.toBe(claimFile(root, baseline('thinet', 1), subset));
    expect(claimFile(root, baseline('thinet'), subset)).not.toBe(claimFile(root, baseline('thinet'), { train: 50000, test: 10000 }));
    expect(claimFile(root, { ...baseline('slimming'), hooks: { id: 'sparsity' } }, subset)).toBeUndefined();
  });

  it('waits while a live process holds it, then claims it; the release removes the claim', async () => {
    const file = held(holder(process.ppid));
    const waitedFor: TrainingClaim[] = [];
    setTimeout(() => fs.rmSync(file), 150);
    const start = Date.now();
    const release = await claimTraining([root], path.join(root, 'regression'), baseline('regression'), subset,
      { pollMs: 20, onWait: (h) => waitedFor.push(h) });
    expect(Date.now() - start).toBeGreaterThanOrEqual(140);
    expect(waitedFor.map((h) => h.pid)).toEqual([process.ppid]); // told once, however many times it looked
    expect(JSON.parse(fs.readFileSync(file, 'utf8'))).toMatchObject({ pid: process.pid, dir: path.join(root, 'regression') });
    release();
    expect(fs.existsSync(file)).toBe(false);
  });

  it('takes over a claim whose process has ended, without waiting', async () => {
    const file = held(holder(ended()));
    let waited = false;
    const release = await claimTraining([root], path.join(root, 'l1'), baseline('l1-norm'), subset,
      { pollMs: 10_000, onWait: () => { waited = true; } });
    expect(waited).toBe(false);
    expect(JSON.parse(fs.readFileSync(file, 'utf8')).pid).toBe(process.pid);
    release();
    expect(fs.existsSync(file)).toBe(false);
  });

  it.runIf(processStart(process.pid) !== undefined)('takes over a claim whose pid a later process has, by its start', async () => {
    // The parent runs, but started at another time than the claim says: the holder ended and its pid came round again.
    const file = held({ ...holder(process.ppid), processStart: `${processStart(process.ppid)}0` });
    const release = await claimTraining([root], path.join(root, 'l1'), baseline('l1-norm'), subset, { ifHeld: 'exit' });
    const mine = JSON.parse(fs.readFileSync(file, 'utf8'));
    expect([mine.pid, mine.processStart]).toEqual([process.pid, processStart(process.pid)]);
    release();
    // With the start the parent has, it holds the claim: a second process is told so.
    held({ ...holder(process.ppid), processStart: processStart(process.ppid) });
    await expect(claimTraining([root], path.join(root, 'l1'), baseline('l1-norm'), subset, { ifHeld: 'exit' }))
      .rejects.toBeInstanceOf(TrainingElsewhereError);
    fs.rmSync(file);
  });

  it.each([
    ['of another machine (its process cannot be checked)', () => holder(process.ppid, `not-${os.hostname()}`)],
    ['of a stage outside this run\'s folders (its result would not be found)',
      () => ({ ...holder(process.ppid), dir: '/elsewhere/thinet/baseline' })],
  ])('leaves a claim %s alone and trains unclaimed', async (_, claim) => {
    const theirs = claim();
    const file = held(theirs);
    let waited = false;
    const release = await claimTraining([root], path.join(root, 'l1'), baseline('l1-norm'), subset,
      { pollMs: 10_000, onWait: () => { waited = true; } });
    expect(waited).toBe(false);
    release();
    expect(JSON.parse(fs.readFileSync(file, 'utf8'))).toEqual(theirs); // neither taken nor removed
    fs.rmSync(file);
  });

  it('takes over only the claim it judged ended: not one another process has made since, nor while another takes over', () => {
    const dead = holder(ended());
    const file = held(dead);
    const lock = `${file}.takeover`;
    fs.writeFileSync(lock, '1'); // another process is taking it over
    takeOver(file, dead);
    expect(JSON.parse(fs.readFileSync(file, 'utf8'))).toEqual(dead);
    fs.rmSync(lock);
    const fresh = { ...holder(process.ppid), started: '2026-12-07T03:00:00.000Z' };
    held(fresh); // a waiter beside this one took it over and claimed it first
    takeOver(file, dead);
    expect(JSON.parse(fs.readFileSync(file, 'utf8'))).toEqual(fresh);
    held(dead);
    takeOver(file, dead);
    expect(fs.existsSync(file)).toBe(false);
    expect(fs.existsSync(lock)).toBe(false);
  });

  it('does not wait on another training\'s claim', async () => {
    held(holder(process.ppid), baseline('thinet', 1));
    const release = await claimTraining([root], path.join(root, 'l1'), baseline('l1-norm', 0), subset, { pollMs: 10_000 });
    expect(release).toBeTypeOf('function');
    release();
  });

  it('claims a stage no other run can share in its own folder: a second process on that folder waits, with or without roots', async () => {
    const hooked = { ...baseline('slimming'), hooks: { id: 'sparsity' } };
    const dir = path.join(root, 'slimming', 'baseline-sparsity');
    const file = stageClaimFile(dir);
    expect(file).toBe(path.join(root, 'slimming', '.baseline-sparsity.training-claim.json'));
    fs.mkdirSync(dir, { recursive: true });
    fs.writeFileSync(file, JSON.stringify({ ...holder(process.ppid), dir }));
    for (const roots of [[root], []]) {
      await expect(claimTraining(roots, dir, hooked, subset, { ifHeld: 'exit', label: 'slimming vgg16 baseline' }))
        .rejects.toThrow(`slimming vgg16 baseline: process ${process.ppid} is training the same now (${dir})`);
    }
    // Another folder of the same hooked training is another stage: claimed at once.
    const other = await claimTraining([root], path.join(root, 'elsewhere'), hooked, subset, { ifHeld: 'exit' });
    expect(fs.existsSync(stageClaimFile(path.join(root, 'elsewhere')))).toBe(true);
    other();
    expect(fs.existsSync(stageClaimFile(path.join(root, 'elsewhere')))).toBe(false);
    fs.rmSync(file);
    const release = await claimTraining([], dir, hooked, subset, { ifHeld: 'exit' });
    expect(JSON.parse(fs.readFileSync(file, 'utf8')).pid).toBe(process.pid);
    release();
  });

  it('told not to wait, stops at once naming the stage and the process that holds it', async () => {
    const file = held(holder(process.ppid), baseline('thinet', 3));
    const asked = claimTraining([root], path.join(root, 'y'), baseline('regression', 3), subset,
      { ifHeld: 'exit', label: 'regression vgg16 seed3 baseline' });
    await expect(asked).rejects.toBeInstanceOf(TrainingElsewhereError);
    await expect(asked).rejects.toThrow(`regression vgg16 seed3 baseline: process ${process.ppid} is training the same now ` +
      `(${path.join(root, 'thinet', 'baseline')})`);
    expect(JSON.parse(fs.readFileSync(file, 'utf8')).pid).toBe(process.ppid);
    fs.rmSync(file);
    const release = await claimTraining([root], path.join(root, 'y'), baseline('regression', 3), subset, { ifHeld: 'exit' });
    expect(release).toBeTypeOf('function'); // free: claimed as usual
    release();
  });

  it('stops waiting with the signal\'s reason', async () => {
    const file = held(holder(process.ppid), baseline('thinet', 2));
    const stop = new AbortController();
    setTimeout(() => stop.abort(new Error('job lock lost')), 50);
    await expect(claimTraining([root], path.join(root, 'x'), baseline('x', 2), subset, { pollMs: 20, signal: stop.signal }))
      .rejects.toThrow('job lock lost');
    expect(JSON.parse(fs.readFileSync(file, 'utf8')).pid).toBe(process.ppid); // the holder's claim stays
  });
});
