import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs';
import { buildModel, initBackend, namedSpec, namedWeights, narrowSpec, shutdownBackend, train } from '@rethink-prune/core';
import { DATASETS } from '@rethink-prune/datasets';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { batchNormGammas, sparsityTraining } from './sparsity';
import './models'; // the folder's named models

beforeAll(async () => { await initBackend('cpu'); });
afterAll(() => shutdownBackend());

const spec = narrowSpec(namedSpec('vgg19-slimming', 'mnist'), 16);
/** 8 fixed images of noise, one batch: one training step. */
const images = Uint8Array.from({ length: 8 * 32 * 32 }, (_, i) => (i * 37) % 256);
const set = { images, labels: Uint8Array.from([0, 1, 2, 3, 4, 5, 6, 7]), count: 8, height: 32, width: 32, channels: 1, classes: 10 };
const data = { train: set, test: set, info: DATASETS.mnist };
const recipe = { epochs: 1, batchSize: 8, lr: 0.1, momentum: 0.9, weightDecay: 1e-4, milestones: [], gamma: 0.1 };
/** γ of the second BN, signs mixed and one exact zero (sign(0) = 0: no sparsity push). */
const START = [0.5, -0.3, 0, 0.2];

async function gammasAfterOneStep(s?: number): Promise<Map<string, number[]>> {
  const model = buildModel(spec, 7);
  namedWeights(model).get('features.1.bn/gamma')!.write(tf.tensor1d(START));
  const runDir = fs.mkdtempSync(path.join(os.tmpdir(), 'sparsity-'));
  const hooks = s === undefined ? undefined : sparsityTraining(s).hooks(model);
  await train({ model, spec, data, recipe, seed: 1, runDir, hooks, progress: false });
  const out = new Map(batchNormGammas(model).map(([name, v]) => [name, Array.from(v.read().dataSync())]));
  model.dispose();
  return out;
}

describe('sparsity training (main.py -sr: grad(γ) += s·sign(γ) for every BN)', () => {
  it('one SGD step moves every γ by −lr·s·sign(γ) more than plain training, β and the rest untouched', async () => {
    const s = 0.01;
    const plain = await gammasAfterOneStep();
    const sparse = await gammasAfterOneStep(s);
    expect([...sparse.keys()]).toHaveLength(16); // all 16 BNs of VGG-19
    for (const [name, after] of sparse) {
      const before = name === 'features.1.bn/gamma' ? START : plain.get(name)!.map(() => 0.5); // γ starts at 0.5
      after.forEach((value, i) => {
        // From zero momentum: w1 = w0 − lr·(g + wd·w0 + s·sign(w0)); g and wd·w0 are those of the plain run.
        expect(value).toBeCloseTo(plain.get(name)![i] - 0.1 * s * Math.sign(before[i]), 6);
      });
    }
  });

  it('its run key names the scale s', () => {
    expect(sparsityTraining(1e-4)).toMatchObject({ id: 'sparsity', params: { s: 1e-4 } });
  });
});
