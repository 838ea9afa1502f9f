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
    const seed = path.join(runDir, 'small', 'cifar10', 'vgg16', 'seed0');
    write(path.join(seed, 'baseline', 'result.json'), { epochs: 40, bestTop1: 70.5, trainSeconds: 900 });
    // Scratch-E: 3 of 10 epochs, median 20 s → 7 × 20 = 140 s; its own claim beside it, held by a live process.
    const scratchE = path.join(seed, 'vgg16-A', 'scratch-e');
    write(path.join(scratchE, 'checkpoint', 'state.json'),
      { epoch: 3, bestTop1: 52.25, runKey: { recipe: { epochs: 10 } } });
    write(path.join(scratchE, 'metrics.jsonl'), metrics([10, 30, 20]));
    write(path.join(seed, 'vgg16-A', '.scratch-e.training-claim.json'), claim(sleeper.pid!, scratchE));
    // The state it keeps for Scratch-B is no stage of its own.
    write(path.join(scratchE, 'after-epoch-2', 'checkpoint', 'state.json'), { epoch: 2, bestTop1: 40, runKey: {} });
    // Scratch-B started from Scratch-E's 2 epochs: its own 3 (median 60 s) count, 3 left → 180 s; the shared claim
    // naming it is an ended process's.
    const scratchB = path.join(seed, 'vgg16-A', 'scratch-b');
    write(path.join(scratchB, 'checkpoint', 'state.json'),
      { epoch: 5, bestTop1: 61, sharedStart: { epochs: 2 }, runKey: { recipe: { epochs: 8 } } });
    write(path.join(scratchB, 'metrics.jsonl'), metrics([500, 500, 50, 60, 70]));
    const ended = spawnSync('true').pid!;
    write(path.join(root, '.training-claims', 'abc.json'), { ...claim(ended, scratchB), processStart: 'gone:1' });

    const statuses = stageStatuses(runDir);
    expect(statuses).toEqual([
      { stage: `${stages}/baseline`, state: 'done', epoch: 40, epochs: 40, bestTop1: 70.5, secondsLeft: null },
      { stage: `${stages}/vgg16-A/scratch-b`, state: 'stopped', epoch: 5, epochs: 8, bestTop1: 61, secondsLeft: 180 },
      { stage: `${stages}/vgg16-A/scratch-e`, state: 'training', epoch: 3, epochs: 10, bestTop1: 52.25,
        secondsLeft: 140, holder: sleeper.pid },
    ]);
    const lines = statusLines(statuses);
    expect(lines[2]).toMatch(/scratch-e +training epoch 3\/10, best 52\.25%, about 2 min left \(pid \d+\)$/);
    expect(lines[3]).toBe('1 stage done, 1 training, 1 stopped; the begun ones have about 5 min of training left ' +
      '(one core each, at their own pace so far)');
  });

  it('sees a shared stage\'s claim in the run directory\'s parent; an empty run directory has no stage', () => {
    const root = fs.mkdtempSync(path.join(os.tmpdir(), 'status-'));
    const baseline = path.join(root, 'study', 'small', 'cifar10', 'vgg16', 'seed0', 'baseline');
    write(path.join(baseline, 'checkpoint', 'state.json'),
      { epoch: 0, bestTop1: 0, runKey: { recipe: { epochs: 40 } } });
    write(path.join(root, '.training-claims', 'def.json'), claim(sleeper.pid!, baseline));
    expect(stageStatuses(path.join(root, 'study'))).toEqual([{ stage: `${stages}/baseline`, state: 'training',
      epoch: 0, epochs: 40, bestTop1: null, secondsLeft: null, holder: sleeper.pid }]);
    fs.mkdirSync(path.join(root, 'empty'));
    expect(statusLines(stageStatuses(path.join(root, 'empty')))).toEqual(['0 stages done, 0 training, 0 stopped']);
  });
});
