import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import {
  initBackend,
  PROFILES,
  runExperiment,
  shutdownBackend,
  type ExperimentData,
} from '@rethink-prune/core';
import { DATASETS, type ImageSet } from '@rethink-prune/datasets';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { l1Method } from './method';

beforeAll(async () => {
  await initBackend('wasm');
});
afterAll(() => shutdownBackend());

/** An easy 10-class set of 32×32 grey images: class c is a bright 8×8 square at its own place, on faint noise. */
function squares(count: number, seed: number): ImageSet {
  const images = new Uint8Array(count * 32 * 32);
  const labels = new Uint8Array(count);
  let state = seed;
  const random = () => (state = (state * 1103515245 + 12345) % 2147483648) / 2147483648;
  for (let i = 0; i < count; i++) {
    const label = i % 10;
    labels[i] = label;
    const [top, left] = [8 * Math.floor(label / 4), 8 * (label % 4)];
    for (let p = 0; p < 32 * 32; p++) {
      const [y, x] = [Math.floor(p / 32), p % 32];
      const inside = y >= top && y < top + 8 && x >= left && x < left + 8;
      images[i * 1024 + p] = inside ? 200 + Math.floor(40 * random()) : Math.floor(40 * random());
    }
  }
  return { images, labels, count, height: 32, width: 32, channels: 1, classes: 10 };
}

describe('the L1 experiment end to end on an easy set', () => {
  it('fine-tunes from the pruned weights: their accuracy before fine-tuning is well above chance', async () => {
    const data: ExperimentData = {
      train: squares(640, 1),
      test: squares(200, 2),
      info: { ...DATASETS.mnist, name: 'mnist' },
    };
    const profile = { ...PROFILES.smoke, epochs: 3, trainLimit: 640, testLimit: 200 };
    const runRoot = fs.mkdtempSync(path.join(os.tmpdir(), 'l1-e2e-'));
    // ResNet-56-A removes a tenth of a few blocks' inner channels: the pruned net still works before fine-tuning.
    // Up to the fine-tune only: the scratch runs say nothing about the pruned weights.
    await runExperiment(l1Method, 'resnet56-A', { profile, seed: 0, data, runRoot, only: 'finetune' });
    const modelDir = path.join(runRoot, 'mnist', 'resnet56', 'seed0');
    const read = (file: string) => JSON.parse(fs.readFileSync(path.join(modelDir, file), 'utf8'));
    const baseline = read('baseline/result.json');
    expect(baseline.bestTop1).toBeGreaterThan(80);
    const prune = read('resnet56-A/pruned/prune.json');
    expect(prune.accuracyBeforeFineTune).toBeGreaterThan(40); // chance is 10%
    // Fine-tuning starts where the pruned model is: its first epoch's training loss is far below chance's ln 10.
    const firstEpoch = JSON.parse(
      fs.readFileSync(path.join(modelDir, 'resnet56-A', 'finetune', 'metrics.jsonl'), 'utf8').split('\n')[0],
    );
    expect(firstEpoch.trainLoss).toBeLessThan(1.5);
    expect([baseline.epochs, read('resnet56-A/finetune/result.json').epochs]).toEqual([3, 1]);
    expect(fs.existsSync(path.join(modelDir, 'resnet56-A', 'scratch-e'))).toBe(false);
  });

  it('trains Scratch-B for int(E × FLOPs(full) / FLOPs(pruned)) epochs, as main_B.py', async () => {
    const data: ExperimentData = {
      train: squares(64, 3),
      test: squares(20, 4),
      info: { ...DATASETS.mnist, name: 'mnist' },
    };
    const profile = { ...PROFILES.smoke, epochs: 3, trainLimit: 64, testLimit: 20 };
    const runRoot = fs.mkdtempSync(path.join(os.tmpdir(), 'l1-scratch-b-'));
    const [row] = await runExperiment(l1Method, 'vgg16-A', { profile, seed: 0, data, runRoot });
    // VGG-16-A keeps about 66% of the FLOPs: 3 epochs × 1.5 → 4.
    expect(row.epochs_scratch_b).toBe(Math.floor((3 * (row.flops as number)) / (row.pruned_flops as number)));
    expect(row.epochs_scratch_b).toBe(4);
    const metrics = path.join(runRoot, 'mnist', 'vgg16', 'seed0', 'vgg16-A', 'scratch-b', 'metrics.jsonl');
    expect(fs.readFileSync(metrics, 'utf8').trim().split('\n')).toHaveLength(4);
  });
});
