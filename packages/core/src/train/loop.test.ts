import { spawn } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { DATASETS, loadImageSet, sharedTestDataDir } from '@rethink-prune/datasets';
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initBackend, shutdownBackend } from '../backend';
import { loadModelDir } from '../model-io';
import { buildModel, type ArchSpec } from '../spec';
import { NonFiniteLossError, train, trainRunKey, type EpochProgress } from './loop';
import { cifarRecipe } from './recipe';
import { TFJS_NODE_BUILT } from '../test-util/backends';

const CHILD = path.join(__dirname, '../test-util/train-child.ts');
const tmp = (prefix: string) => fs.mkdtempSync(path.join(os.tmpdir(), prefix));

beforeAll(async () => { await initBackend('wasm'); });
afterAll(() => shutdownBackend());

type ChildExit = { code: number | null; signal: string | null; out: string };

function runChild(runDir: string, killWhen?: (dir: string) => boolean, backend = 'wasm'): Promise<ChildExit> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['-r', 'ts-node/register/transpile-only', CHILD, runDir, backend],
      { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (chunk) => { out += chunk; });
    child.stderr.on('data', () => undefined);
    const timer = killWhen && setInterval(() => { if (killWhen(runDir)) child.kill('SIGKILL'); }, 20);
    child.on('exit', (code, signal) => { if (timer) clearInterval(timer); resolve({ code, signal, out }); });
  });
}

function mnist(dataDir: string) {
  return { train: loadImageSet('mnist', 'train', { dataDir }), test: loadImageSet('mnist', 'test', { dataDir }),
    info: DATASETS.mnist };
}

const metrics = (runDir: string) =>
  fs.readFileSync(path.join(runDir, 'metrics.jsonl'), 'utf8').trim().split('\n').map((line) => JSON.parse(line));

/** Trains the child run whole, then killed with SIGKILL mid-epoch 2 and resumed: both must end identical. */
async function killedRunResumes(backend: string): Promise<void> {
  const whole = tmp('whole-');
  const first = await runChild(whole, undefined, backend);
  expect(first.code).toBe(0);
  const interrupted = tmp('killed-');
  // Kill once a mid-epoch checkpoint of epoch 2 exists.
  const killed = await runChild(interrupted, (dir) => {
    const file = path.join(dir, 'checkpoint', 'state.json');
    if (!fs.existsSync(file)) return false;
    try {
      const state = JSON.parse(fs.readFileSync(file, 'utf8'));
      return state.epoch === 1 && state.nextBatch > 0;
    } catch {
      return false;
    }
  }, backend);
  expect(killed.signal).toBe('SIGKILL');
  expect(fs.existsSync(path.join(interrupted, 'result.json'))).toBe(false);
  const resumed = await runChild(interrupted, undefined, backend);
  expect(resumed.code).toBe(0);
  const finalWeights = async (runDir: string) => (await loadModelDir(path.join(runDir, 'final'))).model
    .getWeights().map((weight) => Array.from(weight.dataSync()));
  expect(await finalWeights(interrupted)).toEqual(await finalWeights(whole));
  const testTop1 = (runDir: string) => metrics(runDir).map((line) => line.testTop1);
  expect(testTop1(interrupted)).toEqual(testTop1(whole));
  // The child ran on the backend asked for, not on a fallback.
  expect(metrics(whole).every((line) => line.backend === backend)).toBe(true);
}

describe('train', () => {
  it('learns real digits: a small VGG on 2 000 MNIST images passes 85% test accuracy in 4 epochs', async () => {
    const spec: ArchSpec =
      { arch: 'vgg', dataset: 'mnist', cfg: [16, 'M', 32, 'M', 32, 'M', 32], classifier: 'linear' };
    const data = mnist(sharedTestDataDir());
    const runDir = tmp('run-');
    // The seed's step schedule (÷10 at epochs 2 and 3): at a constant LR 0.1 the test accuracy of single epochs jumps by
    // ten points with kernel rounding (wasm and oneDNN paths), and the assertion would test chance.
    const recipe = cifarRecipe(4);
    const options = { spec, data, recipe, seed: 1, runDir, limit: { train: 2000, test: 500 }, progress: false };
    const told: EpochProgress[] = [];
    const result = await train({ ...options, model: buildModel(spec, 1), label: 'digits', onEpoch: (p) => told.push(p) });
    expect(result.bestTop1).toBeGreaterThan(85);
    const lines = metrics(runDir);
    expect(lines.map((line) => line.epoch)).toEqual([1, 2, 3, 4]);
    // Progress: the start, then every epoch with its test top-1 as metrics.jsonl has it.
    expect(told.map((p) => [p.label, p.epoch, p.epochs])).toEqual([0, 1, 2, 3, 4].map((e) => ['digits', e, 4]));
    expect(told.slice(1).map((p) => p.top1)).toEqual(lines.map((line) => line.testTop1));
    expect(lines[0].backend).toBe('wasm');
    expect(fs.existsSync(path.join(runDir, 'best', 'model.json'))).toBe(true);
    // A finished run is not repeated: the same call returns the stored result at once.
    const again = await train({ ...options, model: buildModel(spec, 1) });
    expect(again).toEqual(result);
  });

  it('a run killed with SIGKILL mid-epoch resumes from its checkpoint and ends as one not killed', async () => {
    await killedRunResumes('wasm');
  }, 240_000);

  it.runIf(TFJS_NODE_BUILT)('on tfjs-node too: a killed run resumes and ends as one not killed', async () => {
    await killedRunResumes('tfjs-node');
  }, 240_000);

  it('stops before its next step once its signal aborts, keeping its checkpoint, and resumes from it', async () => {
    const spec: ArchSpec = { arch: 'vgg', dataset: 'mnist', cfg: [4, 'M', 8], classifier: 'linear' };
    const runDir = tmp('abort-');
    const options = { spec, data: mnist(sharedTestDataDir()), recipe: cifarRecipe(3), seed: 1, runDir,
      limit: { train: 320, test: 64 }, progress: false };
    const lost = new AbortController();
    const error = await train({ ...options, model: buildModel(spec, 1), signal: lost.signal,
      onEpoch: (p) => { if (p.epoch === 1) lost.abort(new Error('lost the lock of this stage')); } }).catch((e) => e);
    expect(error).toEqual(new Error('lost the lock of this stage'));
    expect(metrics(runDir).map((line) => line.epoch)).toEqual([1]);
    expect(fs.existsSync(path.join(runDir, 'result.json'))).toBe(false);
    const told: number[] = [];
    const result = await train({ ...options, model: buildModel(spec, 1), onEpoch: (p) => told.push(p.epoch) });
    expect(told).toEqual([1, 2, 3]);
    expect(result.epochs).toBe(3);
    expect(metrics(runDir).map((line) => line.epoch)).toEqual([1, 2, 3]);
  });

  it('stops with NonFiniteLossError when the loss diverges and keeps the last good checkpoint', async () => {
    const spec: ArchSpec = { arch: 'vgg', dataset: 'mnist', cfg: [4, 'M', 8], classifier: 'linear' };
    const runDir = tmp('nan-');
    const error = await train({ model: buildModel(spec, 1), spec, data: mnist(sharedTestDataDir()),
      recipe: { ...cifarRecipe(3), lr: 1e6 }, seed: 1, runDir, limit: { train: 640, test: 64 },
      checkpointSteps: 1, progress: false }).catch((e) => e);
    expect(error).toBeInstanceOf(NonFiniteLossError);
    const cause = /(loss became (NaN|Infinity|-Infinity)|weights became non-finite)/.source;
    expect(error.message).toMatch(new RegExp(`training ${cause} at epoch \\d+, batch \\d+`));
    const { model } = await loadModelDir(path.join(runDir, 'checkpoint'));
    expect(model.getWeights().every((weight) => tf.all(tf.isFinite(weight)).dataSync()[0] === 1)).toBe(true);
  });

  it('a run that starts from the state another kept after their shared epochs ends as one trained from its first', async () => {
    const spec: ArchSpec = { arch: 'vgg', dataset: 'mnist', cfg: [4, 'M', 8], classifier: 'linear' };
    const common = { spec, data: mnist(sharedTestDataDir()), seed: 1, limit: { train: 192, test: 64 }, progress: false };
    // Scratch-E's 3 epochs step at 1 and 2, Scratch-B's 5 at 2 and 3: the same LR in the first epoch only.
    const scratchE = { ...common, recipe: cifarRecipe(3), runDir: tmp('scratch-e-') };
    const scratchB = { ...common, recipe: cifarRecipe(5) };
    await train({ ...scratchE, model: buildModel(spec, 1), keepStateAfter: 1 });
    expect(fs.existsSync(path.join(scratchE.runDir, 'after-epoch-1', 'checkpoint', 'state.json'))).toBe(true);
    const [wholeDir, sharedDir, otherDir] = [tmp('scratch-b-'), tmp('scratch-b-shared-'), tmp('scratch-b-other-')];
    const whole = await train({ ...scratchB, runDir: wholeDir, model: buildModel(spec, 1) });
    const startFrom = { runDir: scratchE.runDir, epochs: 1, runKey: trainRunKey(scratchE) };
    const shared = await train({ ...scratchB, runDir: sharedDir, model: buildModel(spec, 1), startFrom });
    expect(shared.sharedStart).toMatchObject({ from: scratchE.runDir, epochs: 1 });
    expect(whole.sharedStart).toBeUndefined();
    const finalWeights = async (runDir: string) => (await loadModelDir(path.join(runDir, 'final'))).model
      .getWeights().map((weight) => Array.from(weight.dataSync()));
    expect(await finalWeights(sharedDir)).toEqual(await finalWeights(wholeDir));
    expect(metrics(sharedDir).map((line) => line.testTop1)).toEqual(metrics(wholeDir).map((line) => line.testTop1));
    expect([shared.bestTop1, shared.final]).toEqual([whole.bestTop1, whole.final]);
    // A state kept by another run (here another identity) is not taken: the run trains from its first epoch.
    const other = await train({ ...scratchB, runDir: otherDir, model: buildModel(spec, 1),
      startFrom: { ...startFrom, runKey: trainRunKey({ ...scratchE, identity: { stage: 'another' } }) } });
    expect(other.sharedStart).toBeUndefined();
    // Runs that do not train alike until then are refused: another seed, or LRs that part sooner.
    const refused = (from: typeof startFrom) => train({ ...scratchB, runDir: tmp('refused-'), model: buildModel(spec, 1),
      startFrom: from }).catch((e: Error) => e.message);
    expect(await refused({ ...startFrom, runKey: trainRunKey({ ...scratchE, seed: 2 }) })).toMatch(/their seed differs/);
    expect(await refused({ ...startFrom, epochs: 2 })).toMatch(/learning rates part at epoch 2/);
  });
});
