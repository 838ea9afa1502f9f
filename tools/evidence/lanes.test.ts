import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { describe, expect, it, vi } from 'vitest';
import type { StageName } from '@rethink-prune/core';
import { groupCountdown, laneJobs, laneThreads, runLanes, spawnJob, type LaneJob } from './lanes';
import { studyById } from './studies';

/** A job whose stage its id's prefix names: base…, prune…, ft…, scr… (Scratch-E), sb… (Scratch-B); else a fine-tune. */
const job = (id: string, needs: string[] = [], seed = 0): LaneJob => {
  const prefixes: Array<[string, StageName]> = [['base', 'baseline'], ['prune', 'prune'], ['ft', 'finetune'],
    ['scr', 'scratch-e'], ['sb', 'scratch-b']];
  const stage = prefixes.find(([p]) => id.startsWith(p))?.[1] ?? 'finetune';
  return { id, label: `stage ${id}`, seed, stage, needs, args: [] };
};

/** runLanes over jobs that end when the test says, recording which start and on which lane. */
function controlled(jobs: LaneJob[], lanes: number, pollMs?: number) {
  const started: string[] = [];
  const lanesUsed: Record<string, number> = {};
  const alone: string[] = [];
  const mayDefer: Record<string, boolean[]> = {}; // per job, each start's
  const finishers = new Map<string, (code: number) => void>();
  const run = runLanes(jobs, lanes, (j, lane, runsAlone, deferrable) => {
    started.push(j.id);
    lanesUsed[j.id] = lane;
    if (runsAlone) alone.push(j.id);
    (mayDefer[j.id] ??= []).push(deferrable);
    return new Promise<number>((resolve) => finishers.set(j.id, resolve));
  }, { pollMs });
  const settled = run.then(() => 'done', (e: Error) => e.message);
  const tick = () => new Promise((resolve) => setImmediate(resolve));
  const finish = async (id: string, code = 0) => {
    finishers.get(id)!(code);
    await tick();
  };
  return { started, lanesUsed, alone, mayDefer, finish, settled, tick };
}

describe('runLanes', () => {
  it('starts a stage once every stage it needs has finished, never more than the lanes at once', async () => {
    // a baseline, two variants' prunes, then each prune's fine-tune and scratch run
    const jobs = [job('base'), job('pruneA', ['base']), job('pruneB', ['base']), job('ftA', ['pruneA']),
      job('scrA', ['pruneA']), job('ftB', ['pruneB'])];
    const c = controlled(jobs, 2);
    await c.tick();
    expect(c.started).toEqual(['base']);
    await c.finish('base');
    expect(c.started).toEqual(['base', 'pruneA', 'pruneB']);
    await c.finish('pruneB');
    expect(c.started).toEqual(['base', 'pruneA', 'pruneB', 'ftB']); // pruneA still runs: only ftB is ready
    expect(c.lanesUsed.ftB).toBe(c.lanesUsed.pruneB); // the lane that came free
    await c.finish('pruneA');
    expect(c.started).toEqual(['base', 'pruneA', 'pruneB', 'ftB', 'scrA']); // of ftA and scrA, the longer first
    await c.finish('scrA');
    expect(c.started.at(-1)).toBe('ftA');
    await c.finish('ftB');
    await c.finish('ftA');
    expect(await c.settled).toBe('done');
    expect(c.alone).toEqual(['base']); // everything else waited on it; nothing ran beside it
  });

  it('starts a stage that is ready early (readyEarly) while what it needs still runs, looking again every pollMs', async () => {
    let plainDone = false;
    const jobs = [job('base1'), { ...job('base2', ['base1']), readyEarly: () => plainDone }, job('ft', ['base2'])];
    const c = controlled(jobs, 2, 5);
    await c.tick();
    expect(c.started).toEqual(['base1']);
    expect(c.alone).toEqual([]); // base2 may start beside it: base1 does not take every core
    plainDone = true; // base1's process has trained the plain baseline, and goes on with its own epochs
    await new Promise((resolve) => setTimeout(resolve, 30));
    expect(c.started).toEqual(['base1', 'base2']);
    await c.finish('base2');
    expect(c.started).toEqual(['base1', 'base2', 'ft']);
    await c.finish('ft');
    await c.finish('base1');
    expect(await c.settled).toBe('done');
  });

  it('of the ready stages starts the one with the most training on its chain: prunes (they open the stages after ' +
    'them), then Scratch-E (Scratch-B follows it), Scratch-B, fine-tunes', async () => {
    // the grid's order: each variant's prune, then its fine-tune, Scratch-E and Scratch-B (which needs Scratch-E)
    const jobs = [job('base'), job('pruneA', ['base']), job('ftA', ['pruneA']), job('scrA', ['pruneA']),
      job('sbA', ['scrA']), job('pruneB', ['base']), job('ftB', ['pruneB']), job('scrB', ['pruneB']), job('sbB', ['scrB'])];
    const c = controlled(jobs, 1);
    const order = ['base', 'pruneA', 'pruneB', 'scrA', 'scrB', 'sbA', 'sbB', 'ftA', 'ftB'];
    for (const id of order) await c.finish(id);
    expect(c.started).toEqual(order);
    expect(await c.settled).toBe('done');
  });

  it('starts an earlier seed\'s ready stages first, and a lane they leave free takes the next seed\'s', async () => {
    // two seeds' pruned stages (their prunes done); the grid lists seed 1 first here, and its chains are no shorter
    const seedStages = (k: number) => [job(`sb${k}`, [], k), job(`scr${k}`, [], k), job(`ft${k}`, [], k)];
    const c = controlled([...seedStages(1), ...seedStages(0)], 2);
    await c.tick();
    expect(c.started).toEqual(['sb0', 'scr0']); // seed 0's two longest, not both Scratch-Bs
    await c.finish('scr0');
    expect(c.started.at(-1)).toBe('ft0');
    await c.finish('ft0');
    expect(c.started.at(-1)).toBe('sb1'); // seed 0 has nothing ready: the free lane trains seed 1's longest
    await c.finish('sb0'); // seed 0 done while seed 1 has barely started
    expect(c.started.at(-1)).toBe('scr1');
    await c.finish('scr1');
    expect(c.started.at(-1)).toBe('ft1');
    await c.finish('ft1');
    await c.finish('sb1');
    expect(await c.settled).toBe('done');
  });

  it('lets a stage run alone only while nothing runs beside it and no other stage can start before it ends', async () => {
    // two seeds' baselines: neither waits on the other, so neither is alone; then seed 1's prune is, once seed 0 is done
    const jobs = [job('base0', [], 0), job('prune0', ['base0'], 0), job('base1', [], 1), job('prune1', ['base1'], 1),
      job('ft1', ['prune1'], 1), job('scr1', ['prune1'], 1)];
    const c = controlled(jobs, 2);
    await c.tick();
    expect(c.started).toEqual(['base0', 'base1']);
    await c.finish('base0');
    await c.finish('prune0');
    expect(c.alone).toEqual([]); // base1 still ran beside prune0
    await c.finish('base1');
    expect(c.alone).toEqual(['prune1']);
    await c.finish('prune1');
    expect(c.alone).toEqual(['prune1']); // ft1 and scr1 run side by side
    await c.finish('ft1');
    await c.finish('scr1');
    expect(await c.settled).toBe('done');
  });

  it('puts off a stage that another process trains now (exit 75): its lane takes a ready stage, then it waits', async () => {
    // ThiNet's and regression's Scratch-B of the same architecture, and regression's fine-tune
    const jobs = [job('sbThinet'), job('sbRegression'), job('ftRegression')];
    const c = controlled(jobs, 2);
    await c.tick();
    expect(c.started).toEqual(['sbThinet', 'sbRegression']);
    expect(c.mayDefer).toEqual({ sbThinet: [true], sbRegression: [true] }); // neither alone: either may be put off
    await c.finish('sbRegression', 75); // ThiNet's process trains that now
    expect(c.started).toEqual(['sbThinet', 'sbRegression', 'ftRegression']); // its lane trains the fine-tune meanwhile
    await c.finish('ftRegression');
    // No stage is ready: it runs again in the free lane, told to wait for ThiNet's (then it copies it).
    expect(c.started.at(-1)).toBe('sbRegression');
    expect(c.mayDefer.sbRegression).toEqual([true, false]);
    await c.finish('sbThinet');
    await c.finish('sbRegression');
    expect(await c.settled).toBe('done');
  });

  it('runs what needs a put-off stage once it has ended; 75 from a stage told to wait is a failure', async () => {
    const c = controlled([job('baseA'), job('baseB'), job('pruneB', ['baseB'])], 2);
    await c.tick();
    await c.finish('baseB', 75); // held by a process outside this run
    expect(c.started).toEqual(['baseB', 'baseA', 'baseB']); // nothing else ready: it waits in its lane
    expect(c.mayDefer.baseB).toEqual([true, false]);
    await c.finish('baseB');
    expect(c.started.at(-1)).toBe('pruneB');
    await c.finish('pruneB');
    await c.finish('baseA', 75);
    expect(c.mayDefer.baseA).toEqual([true, false]); // put off too, then the only stage left: it waits, on every core
    expect(c.alone).toEqual(['baseA']);
    await c.finish('baseA', 75);
    expect(await c.settled).toMatch(/^failed: stage baseA \(exit 75\)/); // told to wait, it may not stop so
  });

  it('after a failed stage starts nothing more, lets the running ones finish, and names the failed one', async () => {
    const jobs = [job('base'), job('pruneA', ['base']), job('pruneB', ['base']), job('pruneC', ['base'])];
    const c = controlled(jobs, 2);
    await c.finish('base');
    await c.finish('pruneB', 3);
    expect(c.started).toEqual(['base', 'pruneA', 'pruneB']);
    let settled: string | undefined;
    void c.settled.then((s) => { settled = s; });
    await c.tick();
    expect(settled).toBeUndefined(); // pruneA still runs
    await c.finish('pruneA');
    expect(await c.settled).toBe('failed: stage pruneB (exit 3); the finished stages are kept, and a run again resumes the rest');
    expect(c.started).not.toContain('pruneC'); // ready, and a lane free, but not started
  });

  it('says so where stages wait on each other, rather than ending as if they had run', async () => {
    await expect(runLanes([job('a', ['b']), job('b', ['a'])], 2, async () => 0))
      .rejects.toThrow('stages that can never start (they need each other): stage a, stage b');
  });

  it('refuses stages that need one not in the run, naming both', async () => {
    await expect(runLanes([job('ftA', ['pruneA'])], 2, async () => 0))
      .rejects.toThrow('stages that need a stage not in this run: stage ftA needs pruneA');
  });
});

describe('laneJobs', () => {
  it('gives L1\'s ResNet-56-A and B of one seed one shared baseline, then each variant\'s prune and its runs', () => {
    const s = { ...studyById('l1-norm'), variants: ['resnet56-A', 'resnet56-B'] };
    const jobs = laneJobs(s, 'data', 'runs/study/l1-norm', 1);
    const labels = new Map(jobs.map((j) => [j.id, j.label]));
    expect(jobs.map((j) => [j.label, j.needs.map((n) => labels.get(n))])).toEqual([
      ['l1-norm resnet56 seed1 baseline', []],
      ['l1-norm resnet56-A seed1 prune', ['l1-norm resnet56 seed1 baseline']],
      ['l1-norm resnet56-A seed1 finetune', ['l1-norm resnet56-A seed1 prune']],
      ['l1-norm resnet56-A seed1 scratch-e', ['l1-norm resnet56-A seed1 prune']],
      ['l1-norm resnet56-A seed1 scratch-b', ['l1-norm resnet56-A seed1 scratch-e']],
      ['l1-norm resnet56-B seed1 prune', ['l1-norm resnet56 seed1 baseline']],
      ['l1-norm resnet56-B seed1 finetune', ['l1-norm resnet56-B seed1 prune']],
      ['l1-norm resnet56-B seed1 scratch-e', ['l1-norm resnet56-B seed1 prune']],
      ['l1-norm resnet56-B seed1 scratch-b', ['l1-norm resnet56-B seed1 scratch-e']],
    ]);
    expect(jobs.map((j) => j.stage)).toEqual(['baseline', 'prune', 'finetune', 'scratch-e', 'scratch-b', 'prune', 'finetune',
      'scratch-e', 'scratch-b']);
    expect(jobs[6].args).toEqual(['packages/method-l1/dist/cli.js', 'reproduce', '--profile', 'small', '--dataset', 'cifar10',
      '--data-dir', 'data', '--seeds', '3', '--models', 'resnet56-B', '--run-dir', 'runs/study/l1-norm', '--backend', 'wasm',
      '--reuse-from', 'runs/study', '--seed', '1', '--stage', 'finetune']);
    expect(new Set(jobs.map((j) => j.seed))).toEqual(new Set([1]));
    expect(new Set(laneJobs(s, 'data', 'runs/study/l1-norm').map((j) => j.seed))).toEqual(new Set([0, 1, 2]));
  });

  it('lets SFP\'s two baselines of a seed train side by side once the plain baseline they share has finished', () => {
    const runDir = fs.mkdtempSync(path.join(os.tmpdir(), 'lanes-'));
    const s = { ...studyById('sfp'), variants: ['resnet56', 'resnet56-pretrained'] };
    const baselines = () => laneJobs(s, 'data', runDir, 1).filter((j) => j.stage === 'baseline');
    const [first, second] = baselines();
    expect([first.label, second.label]).toEqual(['soft-filter-pruning resnet56-sfp seed1 baseline',
      'soft-filter-pruning resnet56-sfp seed1 baseline']);
    expect(second.needs).toEqual([first.id]); // the first trains the plain baseline, then its own SFP epochs
    expect(first.readyEarly).toBeUndefined();
    expect(second.readyEarly!()).toBe(false);
    const plain = path.join(runDir, 'small', 'cifar10', 'resnet56-sfp', 'seed1', 'baseline');
    fs.mkdirSync(plain, { recursive: true });
    fs.writeFileSync(path.join(plain, 'result.json'), '{}');
    expect(second.readyEarly!()).toBe(true);
  });

  it('makes Scratch-B ready once Scratch-E has kept its state where their LRs part, before Scratch-E ends', () => {
    const runDir = fs.mkdtempSync(path.join(os.tmpdir(), 'lanes-'));
    const scratchB = () => laneJobs({ ...studyById('l1-norm'), variants: ['resnet56-A'] }, 'data', runDir, 1)
      .find((j) => j.stage === 'scratch-b')!;
    expect(scratchB().readyEarly!()).toBe(false);
    const kept = path.join(runDir, 'small', 'cifar10', 'resnet56', 'seed1', 'resnet56-A', 'scratch-e', 'after-epoch-20');
    fs.mkdirSync(path.join(kept, 'checkpoint'), { recursive: true });
    expect(scratchB().readyEarly!()).toBe(false); // still being written
    fs.writeFileSync(path.join(kept, 'checkpoint', 'state.json'), '{}');
    expect(scratchB().readyEarly!()).toBe(true);
  });

  it('runs each of a lottery ticket\'s LRs as its own chain, the command naming that LR alone', () => {
    const jobs = laneJobs({ ...studyById('lottery-ticket'), variants: ['vgg16-A'] }, 'data', 'runs/study/lottery-ticket', 0);
    expect(jobs.map((j) => j.label)).toEqual(['lottery-ticket vgg16 seed0 lr0.1 baseline', 'lottery-ticket vgg16-A seed0 lr0.1 prune',
      'lottery-ticket vgg16-A seed0 lr0.1 scratch-e', 'lottery-ticket vgg16 seed0 lr0.01 baseline',
      'lottery-ticket vgg16-A seed0 lr0.01 prune', 'lottery-ticket vgg16-A seed0 lr0.01 scratch-e']);
    const lrOf = (j: LaneJob) => j.args[j.args.indexOf('--lrs') + 1];
    expect(jobs.map(lrOf)).toEqual(['0.1', '0.1', '0.1', '0.01', '0.01', '0.01']);
    expect(jobs[4].needs).toEqual([jobs[3].id]);
  });
});

describe('groupCountdown', () => {
  it('says which finished job was the last of its seed, once, whatever the order', () => {
    const jobs = [job('sb0', [], 0), job('ft0', [], 0), job('sb1', [], 1), job('scr0', [], 0), job('ft1', [], 1)];
    const last = groupCountdown(jobs, (j) => String(j.seed));
    expect(['ft1', 'sb0', 'scr0', 'sb1', 'ft0'].map((id) => last(jobs.find((j) => j.id === id)!)))
      .toEqual([false, false, false, true, true]);
  });
});

describe('spawnJob', () => {
  it('prefixes each line with its lane (whole characters, the last line too), gives the exit code, sets its threads', async () => {
    const out: string[] = [];
    const spy = vi.spyOn(process.stdout, 'write').mockImplementation((text) => { out.push(String(text)); return true; });
    const say = 'process.stdout.write("a → b\\n"); setTimeout(() => { process.stdout.write("× " + ' +
      'process.env.RETHINK_PRUNE_THREADS); process.exit(3); }, 20)';
    try {
      expect(await spawnJob({ id: 'x', label: 'stage x', seed: 0, stage: 'finetune', needs: [], args: ['-e', say] }, 2, '5')).toBe(3);
    } finally {
      spy.mockRestore();
    }
    expect(out).toEqual(['[lane 2] a → b\n', '[lane 2] × 5\n']);
  });

  it('tells a stage that may be deferred to stop where another process trains it now, and passes its exit code', async () => {
    const out: string[] = [];
    const spy = vi.spyOn(process.stdout, 'write').mockImplementation((text) => { out.push(String(text)); return true; });
    const say = 'process.stdout.write(process.argv.slice(1).join(" ")); process.exit(75)';
    const j: LaneJob = { id: 'x', label: 'stage x', seed: 1, stage: 'scratch-b', needs: [], args: ['-e', say, '--', '--seed', '1'] };
    try {
      expect(await spawnJob(j, 1, '1', true)).toBe(75);
      expect(await spawnJob(j, 1, '1')).toBe(75);
    } finally {
      spy.mockRestore();
    }
    expect(out).toEqual(['[lane 1] --seed 1 --if-training-elsewhere exit\n', '[lane 1] --seed 1\n']);
  });
});

describe('laneThreads', () => {
  it('shares the cores out among the lanes, gives them all to a stage alone, and yields to RETHINK_PRUNE_THREADS', () => {
    const saved = process.env.RETHINK_PRUNE_THREADS;
    delete process.env.RETHINK_PRUNE_THREADS;
    try {
      expect([laneThreads(2, 2), laneThreads(1, 2), laneThreads(2, 16), laneThreads(3, 2), laneThreads(1, 16)])
        .toEqual(['1', '2', '8', '1', '16']);
      process.env.RETHINK_PRUNE_THREADS = '3';
      expect([laneThreads(2, 16), laneThreads(1, 16)]).toEqual(['3', '3']);
    } finally {
      if (saved === undefined) delete process.env.RETHINK_PRUNE_THREADS;
      else process.env.RETHINK_PRUNE_THREADS = saved;
    }
  });
});
