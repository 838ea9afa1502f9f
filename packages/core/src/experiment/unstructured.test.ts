import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initBackend, shutdownBackend } from '../backend';
import { loadTrainingData } from '../data/source';
import { namedWeights, type MaskSet } from '../pruning/masks';
import { loadMasks, loadModelDir } from '../model-io';
import { PROFILES } from '../profiles';
import type { MethodDefinition } from './method';
import type { TrainedStage } from './stage-graph';
import { runExperiment } from './run';
import { sharedTestDataDir } from '@rethink-prune/datasets';

/** Masks the half of every conv kernel's weights with the smallest magnitude (a per-layer median). */
function halfMagnitudeMasks(model: tf.LayersModel): MaskSet {
  const masks: MaskSet = new Map();
  for (const [name, weight] of namedWeights(model)) {
    if (!name.endsWith('.conv/kernel')) continue;
    const values = Array.from(weight.read().dataSync())
      .map(Math.abs)
      .sort((a, b) => a - b);
    const median = values[Math.floor(values.length / 2)];
    masks.set(
      name,
      tf.tidy(() => tf.cast(tf.greater(tf.abs(weight.read()), median), 'float32')),
    );
  }
  return masks;
}

/** What each stage's model held before its first step. */
const startingWeights = new Map<TrainedStage, Map<string, Float32Array>>();

const lotteryLike: MethodDefinition<{ base: string }> = {
  name: 'half-magnitude',
  command: 'prune-half',
  title: 'half of each conv by magnitude, scratch from the initial weights',
  variants: { 'vgg11-half': { base: 'vgg11' } },
  defaultVariants: () => ['vgg11-half'],
  reference: [],
  pruner: { kind: 'unstructured', version: '1', masks: ({ model }) => halfMagnitudeMasks(model) },
  scratchStarts: ['saved-init'],
  training: (stage) => ({
    id: 'record',
    hooks: () => ({
      beforeTraining: (model) => {
        startingWeights.set(
          stage,
          new Map([...namedWeights(model)].map(([n, w]) => [n, w.read().dataSync() as Float32Array])),
        );
      },
    }),
  }),
};

beforeAll(async () => {
  await initBackend('wasm');
});
afterAll(() => shutdownBackend());

describe('an unstructured method with scratch runs from the saved initial weights', () => {
  it('keeps masked weights at zero in every stage; Scratch-E starts from init × mask, Scratch-B from its state', async () => {
    const runRoot = fs.mkdtempSync(path.join(os.tmpdir(), 'unstructured-'));
    const data = loadTrainingData('fashion-mnist', sharedTestDataDir());
    const [row, ...more] = await runExperiment(lotteryLike, 'vgg11-half', {
      profile: PROFILES.smoke,
      seed: 0,
      data,
      runRoot,
    });
    expect(more).toEqual([]);
    // The scratch runs start from the saved initialisation only: their own columns, none from a fresh start.
    expect([row.acc_scratch_e, row.acc_scratch_b]).toEqual([null, null]);
    expect(typeof row.acc_scratch_e_saved_init).toBe('number');
    expect(typeof row.acc_scratch_b_saved_init).toBe('number');
    expect(row.sparsity_pct as number).toBeCloseTo(50, 0);
    // The same spec, counted as the seed's sparse counter: half of every conv's weights cost nothing.
    expect(row.pruned_flops as number).toBeLessThan(0.6 * (row.flops as number));
    const modelDir = path.join(runRoot, 'fashion-mnist', 'vgg11', 'seed0');
    const masks = await loadMasks(path.join(modelDir, 'vgg11-half', 'pruned'));
    const init = await loadModelDir(path.join(modelDir, 'baseline-record', 'init'));
    const initWeights = namedWeights(init.model);
    for (const [name, mask] of masks!) {
      const expected = tf.tidy(() => tf.mul(initWeights.get(name)!.read(), mask).dataSync());
      expect(Array.from(startingWeights.get('scratch-e')!.get(name)!)).toEqual(Array.from(expected));
    }
    // Scratch-B did not start afresh: it took the state Scratch-E kept after the epoch they share (smoke's one).
    expect(startingWeights.has('scratch-b')).toBe(false);
    const scratchB = JSON.parse(fs.readFileSync(path.join(modelDir, 'vgg11-half', 'scratch-b-saved-init', 'result.json'), 'utf8'));
    expect(scratchB.sharedStart).toMatchObject({ from: path.join(modelDir, 'vgg11-half', 'scratch-e-saved-init'), epochs: 1 });
    for (const stage of ['finetune', 'scratch-e', 'scratch-b']) {
      const dir = stage === 'finetune' ? stage : `${stage}-saved-init`;
      const start = startingWeights.get(stage === 'scratch-b' ? 'scratch-e' : stage as TrainedStage)!; // B's is E's
      const trained = namedWeights(
        (await loadModelDir(path.join(modelDir, 'vgg11-half', dir, 'final'))).model,
      );
      for (const [name, mask] of masks!) {
        const [weights, keep] = [trained.get(name)!.read().dataSync(), mask.dataSync()];
        expect(weights.every((w, i) => keep[i] === 1 || w === 0)).toBe(true);
        expect(
          weights.some(
            (w, i) => keep[i] === 1 && w !== start.get(name)![i],
          ),
        ).toBe(true);
      }
    }
  });
});
