import { spawn } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { DATASETS, loadImageSet } from '@rethink-prune/datasets';
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initBackend, shutdownBackend } from '../backend';
import { loadModelDir } from '../model-io';
import { buildModel, type ArchSpec } from '../spec';
import { NonFiniteLossError, train } from './loop';
import { cifarRecipe } from './recipe';

const CHILD = path.join(__dirname, '../test-util/train-child.ts');
const tmp = (p: string) => fs.mkdtempSync(path.join(os.tmpdir(), p));

beforeAll(async () => { await initBackend('wasm'); });
afterAll(() => shutdownBackend());

function runChild(runDir: string, killWhen?: (dir: string) => boolean): Promise<{ code: number | null; signal: string | null; out: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['-r', 'ts-node/register/transpile-only', CHILD, runDir, 'wasm'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d) => { out += d; });
    child.stderr.on('data', () => undefined);
    const timer = killWhen && setInterval(() => { if (killWhen(runDir)) child.kill('SIGKILL'); }, 20);
    child.on('exit', (code, signal) => { if (timer) clearInterval(timer); resolve({ code, signal, out }); });
  });
}

describe('train', () => {
  it('learns real digits: a small VGG on 2 000 MNIST images passes 85% test accuracy in 4 epochs', async () => {
    const dataDir = tmp('data-');
    const spec: ArchSpec = { arch: 'vgg', dataset: 'mnist', cfg: [16, 'M', 32, 'M', 32, 'M', 32], classifier: 'linear' };
    const data = { train: loadImageSet('mnist', 'train', { dataDir }), test: loadImageSet('mnist', 'test', { dataDir }), info: DATASETS.mnist };
    const runDir = tmp('run-');
    const recipe = { ...cifarRecipe(4), milestones: [] };
    const result = await train({ model: buildModel(spec, 1), spec, data, recipe, seed: 1, runDir,
      limit: { train: 2000, test: 500 }, progress: false });
    expect(result.bestTop1).toBeGreaterThan(85);
    const lines = fs.readFileSync(path.join(runDir, 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    expect(lines.map((l) => l.epoch)).toEqual([1, 2, 3, 4]);
    expect(lines[0].backend).toBe('wasm');
    expect(fs.existsSync(path.join(runDir, 'best', 'model.json'))).toBe(true);
    // A finished run is not repeated: the same call returns the stored result at once.
    const again = await train({ model: buildModel(spec, 1), spec, data, recipe, seed: 1, runDir, limit: { train: 2000, test: 500 }, progress: false });
    expect(again).toEqual(result);
  });

  it('a run killed with SIGKILL mid-epoch resumes from its checkpoint and ends with the weights of an uninterrupted run', async () => {
    const whole = tmp('whole-');
    const first = await runChild(whole);
    expect(first.code).toBe(0);
    const interrupted = tmp('killed-');
    // Kill once a mid-epoch checkpoint of epoch 2 exists.
    const killed = await runChild(interrupted, (dir) => {
      const f = path.join(dir, 'checkpoint', 'state.json');
      if (!fs.existsSync(f)) return false;
      try { const s = JSON.parse(fs.readFileSync(f, 'utf8')); return s.epoch === 1 && s.nextBatch > 0; } catch { return false; }
    });
    expect(killed.signal).toBe('SIGKILL');
    expect(fs.existsSync(path.join(interrupted, 'result.json'))).toBe(false);
    const resumed = await runChild(interrupted);
    expect(resumed.code).toBe(0);
    const a = await loadModelDir(path.join(whole, 'final'));
    const b = await loadModelDir(path.join(interrupted, 'final'));
    const wa = a.model.getWeights().map((w) => Array.from(w.dataSync()));
    const wb = b.model.getWeights().map((w) => Array.from(w.dataSync()));
    expect(wb).toEqual(wa);
    const lines = (d: string) => fs.readFileSync(path.join(d, 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l).testTop1);
    expect(lines(interrupted)).toEqual(lines(whole));
  }, 240_000);

  it('stops with NonFiniteLossError when the loss diverges and keeps the last good checkpoint', async () => {
    const dataDir = tmp('data-');
    const spec: ArchSpec = { arch: 'vgg', dataset: 'mnist', cfg: [4, 'M', 8], classifier: 'linear' };
    const data = { train: loadImageSet('mnist', 'train', { dataDir }), test: loadImageSet('mnist', 'test', { dataDir }), info: DATASETS.mnist };
    const runDir = tmp('nan-');
    const err = await train({ model: buildModel(spec, 1), spec, data, recipe: { ...cifarRecipe(3), lr: 1e6 }, seed: 1, runDir,
      limit: { train: 640, test: 64 }, checkpointSteps: 1, progress: false }).catch((e) => e);
    expect(err).toBeInstanceOf(NonFiniteLossError);
    expect(err.message).toMatch(/training (loss became (NaN|Infinity|-Infinity)|weights became non-finite) at epoch \d+, batch \d+/);
    const { model } = await loadModelDir(path.join(runDir, 'checkpoint'));
    expect(model.getWeights().every((w) => tf.all(tf.isFinite(w)).dataSync()[0] === 1)).toBe(true);
  });
});
