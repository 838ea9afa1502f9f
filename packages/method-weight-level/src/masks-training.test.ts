import { execFile } from 'child_process';
import * as fs from 'fs';
import * as http from 'http';
import type { AddressInfo } from 'net';
import * as os from 'os';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs';
import {
  buildModel, initBackend, loadModelDir, magnitudeMasks, namedWeights, saveModelDir, shutdownBackend, train,
  type ArchSpec, type MaskSet, type Recipe, type TrainingData } from '@rethink-prune/core';
import { DATASETS } from '@rethink-prune/datasets';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

beforeAll(async () => { await initBackend('cpu'); });
afterAll(() => shutdownBackend());

/** Two convs with biases (1→4, 4→8) as the weight-level VGG has them, BN, one max pool, Linear(8·8·8, 10). */
const SPEC: ArchSpec =
  { arch: 'vgg', dataset: 'mnist', cfg: [4, 'M', 8], classifier: 'linear', convBias: true, bnGamma: 1, convInit: 'fan-in' };
const KERNELS = ['features.0.conv/kernel', 'features.1.conv/kernel'];

/** `count` 32×32×1 images of deterministic noise, labels cycling over the 10 classes (train = test). */
function noiseData(count: number): TrainingData {
  let state = 12345;
  // A 32-bit linear congruential generator (Numerical Recipes): the pixels only need to differ.
  const nextByte = () => (state = (Math.imul(state, 1664525) + 1013904223) >>> 0) >>> 24;
  const images = Uint8Array.from({ length: count * 32 * 32 }, nextByte);
  const labels = Uint8Array.from({ length: count }, (_, i) => i % 10);
  const set = { images, labels, count, height: 32, width: 32, channels: 1, classes: 10 };
  return { train: set, test: set, info: DATASETS.mnist };
}

/** 800 images in batches of 8: one epoch is 100 optimiser steps; SGD with momentum 0.9 and wd 5e-4. */
const RECIPE: Recipe =
  { epochs: 1, batchSize: 8, lr: 0.1, momentum: 0.9, weightDecay: 5e-4, milestones: [], gamma: 0.1 };

const tmp = (prefix: string) => fs.mkdtempSync(path.join(os.tmpdir(), prefix));
const valuesOf = (model: tf.LayersModel, name: string) =>
  Array.from(namedWeights(model).get(name)!.read().dataSync());

describe('training with hooks.masks (cifar_finetune.py: gradients × mask every step)', () => {
  let model: tf.LayersModel;
  let masks: MaskSet;
  const before = new Map<string, number[]>();
  let steps = 0;

  beforeAll(async () => {
    model = buildModel(SPEC, 4);
    masks = magnitudeMasks(model, 0.6);
    // The masked weights are not zeroed here: the loop must do it.
    for (const name of KERNELS) before.set(name, valuesOf(model, name));
    await train({ model, spec: SPEC, data: noiseData(800), recipe: RECIPE, seed: 2, runDir: tmp('wl-train-'),
      hooks: { masks, afterStep: () => { steps++; } }, limit: { test: 16 }, progress: false });
  });

  it('keeps every masked weight exactly 0 after 100 steps and moves every kept one', () => {
    expect(steps).toBe(100);
    for (const name of KERNELS) {
      const mask = Array.from(masks.get(name)!.dataSync());
      const [start, end] = [before.get(name)!, valuesOf(model, name)];
      // Non-zero before training, so the loop's zeroing is what made them 0.
      expect(mask.every((keep, i) => keep === 1 || start[i] !== 0), name).toBe(true);
      expect(mask.some((keep) => keep === 0), name).toBe(true);
      const maskedAfter = end.filter((_, i) => mask[i] === 0);
      const moved = maskedAfter.filter((value) => value !== 0);
      expect(moved, `${name}: masked weights that moved`).toEqual([]);
      // Weight decay alone moves a non-zero weight, so each kept weight differs from its start.
      expect(end.every((value, i) => mask[i] === 0 || value !== start[i]), name).toBe(true);
    }
  });

  it('saves the masks with the model and loads the same masks back', async () => {
    const dir = tmp('wl-masked-');
    await saveModelDir(dir, model, SPEC, masks);
    expect(fs.existsSync(path.join(dir, 'masks.json'))).toBe(true);
    const loaded = await loadModelDir(dir);
    expect([...loaded.masks!.keys()]).toEqual(KERNELS);
    for (const name of KERNELS) {
      const [reloaded, original] = [loaded.masks!.get(name)!, masks.get(name)!];
      expect(Array.from(reloaded.dataSync()), name).toEqual(Array.from(original.dataSync()));
      expect(valuesOf(loaded.model, name), name).toEqual(valuesOf(model, name));
    }
    loaded.model.dispose();
  });

  it('saves a model.json that plain tf.loadLayersModel(url) loads over HTTP, zeros in place', async () => {
    const dir = tmp('wl-http-');
    await saveModelDir(dir, model, SPEC, masks);
    const server = http.createServer((request, response) => {
      const file = path.join(dir, path.basename(request.url ?? ''));
      if (!fs.existsSync(file)) { response.statusCode = 404; response.end(); return; }
      response.end(fs.readFileSync(file));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/model.json`;
    // Only @tensorflow/tfjs in the child, as a browser or another Node program would load the model.
    const script = `
      const tf = require('@tensorflow/tfjs');
      tf.setBackend('cpu').then(async () => {
        const model = await tf.loadLayersModel(${JSON.stringify(url)});
        const kernels = ${JSON.stringify(KERNELS)}.map((name) =>
          Array.from(model.getLayer(name.split('/')[0]).getWeights()[0].dataSync()));
        process.stdout.write(JSON.stringify(kernels));
      });`;
    try {
      const out = await new Promise<string>((resolve, reject) => {
        execFile(process.execPath, ['-e', script], { timeout: 60_000 },
          (error, stdout) => (error ? reject(error) : resolve(stdout)));
      });
      const kernels = JSON.parse(out) as number[][];
      KERNELS.forEach((name, kernelIndex) => {
        const mask = masks.get(name)!.dataSync();
        // JSON has no −0, which a masked weight may be here (w · 0 with w < 0).
        const positiveZeros = valuesOf(model, name).map((value) => (value === 0 ? 0 : value));
        expect(kernels[kernelIndex], name).toEqual(positiveZeros);
        expect(kernels[kernelIndex].every((value, i) => mask[i] === 1 || value === 0), name).toBe(true);
      });
    } finally {
      server.close();
    }
  });
});
