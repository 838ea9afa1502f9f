import { spawn, spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { afterAll, describe, expect, it } from 'vitest';
import { processStart } from '../../packages/core/src/experiment/training-claim';
import { stageStatuses, statusLines } from './status';

const write = (file: string, value: unknown) => {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, typeof value === 'string' ? value : JSON.stringify(value));
};
const metrics = (seconds: number[]) =>
  seconds.map((s, e) => JSON.stringify({ epoch: e + 1, testTop1: 50, seconds: s })).join('\n');
/** A checkpoint's state.json as the loop writes it (the fields its reader checks). */
const state = (epoch: number, epochs: number, bestTop1: number, extra: Record<string, unknown> = {}) => ({
  runKey: { recipe: { epochs } }, epoch, nextBatch: 0, bestTop1, bestEpoch: epoch, metricsLines: epoch,
  trainSeconds: 1, imagesSeen: 1, optimizer: {}, ...extra,
});
/** A finished stage's result.json (the fields its reader checks). */
const result = (epochs: number, bestTop1: number, extra: Record<string, unknown> = {}) =>
  ({ epochs, bestTop1, final: { top1: bestTop1 - 1 }, trainSeconds: 900, ...extra });
/** Where the stages of the fake study's one seed are, relative to its run directory. */
const stages = 'small/cifar10/vgg16/seed0';
const claim = (pid: number, dir: string) =>
  ({ pid, host: os.hostname(), dir, started: new Date().toISOString(), processStart: processStart(pid) });

describe('evidence status', () => {
  const sleeper = spawn('sleep', ['60']);
  afterAll(() => sleeper.kill());

  it('lists each begun stage: done, training (a live claim) or stopped, with the time its epochs left take', () => {
    const root = fs.mkdtempSync(path.join(os.tmpdir(), 'status-'));
    const runDir = path.join(root, 'study');
    const seed = path.join(runDir, stages);
    write(path.join(seed, 'baseline', 'result.json'), result(40, 70.5));
    // Scratch-E: 3 of 10 epochs, median 20 s → 7 × 20 = 140 s; its own claim beside it, held by a live process.
    const scratchE = path.join(seed, 'vgg16-A', 'scratch-e');
    write(path.join(scratchE, 'checkpoint', 'state.json'), state(3, 10, 52.25));
    write(path.join(scratchE, 'metrics.jsonl'), metrics([10, 30, 20]));
    write(path.join(seed, 'vgg16-A', '.scratch-e.training-claim.json'), claim(sleeper.pid!, scratchE));
    // The state it keeps for Scratch-B is no stage of its own.
    write(path.join(scratchE, 'after-epoch-2', 'checkpoint', 'state.json'), state(2, 10, 40));
    // Scratch-B started from Scratch-E's 2 epochs: its own 4 count (median 60 s, the upper middle of 50, 55, 60, 70),
    // 3 left → 180 s; the shared claim naming it is an ended process's.
    const scratchB = path.join(seed, 'vgg16-A', 'scratch-b');
    write(path.join(scratchB, 'checkpoint', 'state.json'), state(6, 9, 61, { sharedStart: { epochs: 2 } }));
    write(path.join(scratchB, 'metrics.jsonl'), metrics([500, 500, 50, 70, 55, 60]));
    const ended = spawnSync('true').pid!;
    write(path.join(root, '.training-claims', 'abc.json'), { ...claim(ended, scratchB), processStart: 'gone:1' });
    // A copy of a finished stage being made beside the fine-tune's folder: no stage.
    write(path.join(seed, 'vgg16-A', 'finetune.copying', 'result.json'), result(10, 60));

    const statuses = stageStatuses(runDir);
    expect(statuses).toEqual([
      { stage: `${stages}/baseline`, state: 'done', epoch: 40, epochs: 40, bestTop1: 70.5, secondsLeft: null },
      { stage: `${stages}/vgg16-A/scratch-b`, state: 'stopped', epoch: 6, epochs: 9, bestTop1: 61, secondsLeft: 180 },
      { stage: `${stages}/vgg16-A/scratch-e`, state: 'training', epoch: 3, epochs: 10, bestTop1: 52.25,
        secondsLeft: 140, holder: sleeper.pid },
    ]);
    const lines = statusLines(statuses);
    expect(lines[2]).toMatch(/scratch-e +training epoch 3\/10, best 52\.25%, about 2 min left \(pid \d+\)$/);
    expect(lines[3]).toBe('1 stage done, 1 training, 1 stopped; the begun ones have about 5 min of training left ' +
      '(one core each, at their own pace so far)');
  });

  it('sees a shared claim in the run directory\'s parent, a first epoch before any checkpoint, the checkpoint kept ' +
    'while the next is renamed in, and a copied stage', () => {
    const root = fs.mkdtempSync(path.join(os.tmpdir(), 'status-'));
    const seed = path.join(root, 'study', stages);
    // The baseline trains its first epoch: a live claim, no checkpoint yet.
    const baseline = path.join(seed, 'baseline');
    fs.mkdirSync(baseline, { recursive: true });
    write(path.join(root, '.training-claims', 'def.json'), claim(sleeper.pid!, baseline));
    // Scratch-E between the loop's two renames: only checkpoint.previous holds a state (7 epochs of 40, 600 s each).
    write(path.join(seed, 'vgg16-A', 'scratch-e', 'checkpoint.previous', 'state.json'), state(7, 40, 45));
    write(path.join(seed, 'vgg16-A', 'scratch-e', 'metrics.jsonl'), metrics(Array(7).fill(600)));
    write(path.join(seed, 'vgg16-A', 'scratch-b', 'result.json'), result(54, 66, { reusedFrom: { method: 'thinet', dir: 'x' } }));
    const statuses = stageStatuses(path.join(root, 'study'));
    expect(statuses).toEqual([
      { stage: `${stages}/baseline`, state: 'training', epoch: 0, epochs: null, bestTop1: null, secondsLeft: null,
        holder: sleeper.pid },
      { stage: `${stages}/vgg16-A/scratch-b`, state: 'done', epoch: 54, epochs: 54, bestTop1: 66, secondsLeft: null,
        copiedFrom: 'thinet' },
      { stage: `${stages}/vgg16-A/scratch-e`, state: 'stopped', epoch: 7, epochs: 40, bestTop1: 45, secondsLeft: 19800 },
    ]);
    const lines = statusLines(statuses);
    expect(lines[0]).toMatch(/baseline +training epoch 0\/\? \(pid \d+\)$/);
    expect(lines[1]).toMatch(/scratch-b +done +epoch 54\/54, best 66\.00% \(copied from thinet's run\)$/);
    expect(lines[2]).toMatch(/scratch-e +stopped +epoch 7\/40, best 45\.00%, about 5 h 30 min left$/);
  });

  it('reads a run directory reached through a link where it is: the shared claim in its real parent names its stage', () => {
    const root = fs.mkdtempSync(path.join(os.tmpdir(), 'status-'));
    const baseline = path.join(root, 'runs', 'study', stages, 'baseline');
    write(path.join(baseline, 'checkpoint', 'state.json'), state(2, 40, 30));
    write(path.join(baseline, 'metrics.jsonl'), metrics([10, 10]));
    write(path.join(root, 'runs', '.training-claims', 'abc.json'), claim(sleeper.pid!, baseline));
    // Another checkout's runs/ holds only a link to the study folder.
    fs.mkdirSync(path.join(root, 'checkout', 'runs'), { recursive: true });
    fs.symlinkSync(path.join(root, 'runs', 'study'), path.join(root, 'checkout', 'runs', 'study'));
    expect(stageStatuses(path.join(root, 'checkout', 'runs', 'study'))).toEqual([
      { stage: `${stages}/baseline`, state: 'training', epoch: 2, epochs: 40, bestTop1: 30, secondsLeft: 380,
        holder: sleeper.pid },
    ]);
  });

  it('rounds to whole minutes before it splits hours (7 190 s is 2 h 0 min), and an empty run directory has no stage', () => {
    const one = { stage: 'a', state: 'stopped' as const, epoch: 1, epochs: 2, bestTop1: null, secondsLeft: 7190 };
    expect(statusLines([one])[0]).toBe('a      stopped  epoch 1/2, about 2 h 0 min left');
    const empty = fs.mkdtempSync(path.join(os.tmpdir(), 'status-'));
    expect(statusLines(stageStatuses(empty))).toEqual(['0 stages done, 0 training, 0 stopped']);
  });
});
