import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initBackend, shutdownBackend } from '../backend';
import { UnknownWeightError } from '../errors';
import { applyMasks, namedWeights, type MaskSet } from '../masks';
import { buildModel } from '../spec';
import { syntheticData, TINY_SPEC, tinyRecipe, tmpDir } from '../test-util/tiny-run';
import { readCheckpoint } from './checkpoint';
import { train, type TrainingHooks } from './loop';
import type { Recipe } from './recipe';

beforeAll(async () => { await initBackend('cpu'); });
afterAll(() => shutdownBackend());

const GAMMA = 'features.1.bn/gamma';
/** Signs mixed on purpose, so that s·sign(γ) is not a constant. */
const GAMMA_START = [0.5, -0.3, 0.8, -0.6, 0.2, 0.4, -0.1, 0.7];

/** Trains one step (16 images, batch 16) from the same start and returns γ of features.1.bn afterwards. */
async function gammaAfterOneStep(recipe: Recipe, hooks?: TrainingHooks): Promise<number[]> {
  const model = buildModel(TINY_SPEC, 3);
  namedWeights(model).get(GAMMA)!.write(tf.tensor1d(GAMMA_START));
  await train({ model, spec: TINY_SPEC, data: syntheticData(16), recipe, seed: 1, runDir: tmpDir('one-step-'),
    limit: { train: 16, test: 16 }, hooks, progress: false });
  return Array.from(namedWeights(model).get(GAMMA)!.read().dataSync());
}

describe('training hooks', () => {
  it('extraGradients: an L1 term s·sign(γ) moves γ by −lr·s·sign(γ) more than plain training', async () => {
    const recipe = { ...tinyRecipe(1, 16), lr: 0.1, weightDecay: 0.05 };
    const sparsity = 0.01;
    const slimming: TrainingHooks = {
      extraGradients: (model) =>
        new Map([[GAMMA, tf.mul(tf.sign(namedWeights(model).get(GAMMA)!.read()), sparsity)]]),
    };
    const plain = await gammaAfterOneStep(recipe);
    const withL1 = await gammaAfterOneStep(recipe, slimming);
    const withoutDecay = await gammaAfterOneStep({ ...recipe, weightDecay: 0 });
    // One step from v = 0: w1 = w0 − lr·(g + wd·w0 + s·sign(w0)); the plain gradient g is the same in all runs.
    GAMMA_START.forEach((start, i) => {
      expect(Math.abs(withL1[i] - (plain[i] - 0.1 * sparsity * Math.sign(start)))).toBeLessThan(1e-6);
      expect(Math.abs(plain[i] - (withoutDecay[i] - 0.1 * 0.05 * start))).toBeLessThan(1e-6);
    });
  });

  it('masks: masked weights and their momentum stay exactly 0 over 12 steps; the others train', async () => {
    const model = buildModel(TINY_SPEC, 4);
    const kernel = namedWeights(model).get('features.1.conv/kernel')!;
    const start = Array.from(kernel.read().dataSync());
    const isMasked = (i: number) => i % 3 === 0;
    const masks: MaskSet = new Map([['features.1.conv/kernel',
      tf.tensor(start.map((_, i) => (isMasked(i) ? 0 : 1)), kernel.shape as number[])]]);
    const runDir = tmpDir('masked-');
    // 32 images in batches of 8 for 3 epochs, with momentum 0.9 and weight decay 5e-4.
    await train({ model, spec: TINY_SPEC, data: syntheticData(32), recipe: tinyRecipe(3, 8), seed: 2, runDir,
      limit: { train: 32, test: 16 }, hooks: { masks }, progress: false });
    const end = Array.from(kernel.read().dataSync());
    expect(end.filter((_, i) => isMasked(i)).every((value) => value === 0)).toBe(true);
    expect(end.every((value, i) => isMasked(i) || value !== start[i])).toBe(true);
    // The seed masks the gradient (not only the weight), so the momentum of a masked weight is 0 too.
    const restored = (await readCheckpoint(runDir))!;
    const momentum = Array.from(restored.optimizer['features.1.conv/kernel'].values);
    expect(momentum.filter((_, i) => isMasked(i)).every((value) => value === 0)).toBe(true);
    expect(momentum.filter((_, i) => !isMasked(i)).some((value) => value !== 0)).toBe(true);
    restored.model.dispose();
  });

  it('afterEpoch runs once per epoch across an interrupted run and its resume; beforeTraining only when fresh',
    async () => {
      const runDir = tmpDir('epochs-');
      const options = { spec: TINY_SPEC, data: syntheticData(32), recipe: tinyRecipe(3, 8), seed: 5, runDir,
        limit: { train: 32, test: 16 }, checkpointSteps: 1, progress: false };
      const epochs: number[] = [];
      const steps: Array<[number, number]> = [];
      let freshStarts = 0;
      const hooks = (interruptAt?: [number, number]): TrainingHooks => ({
        beforeTraining: () => { freshStarts += 1; },
        afterStep: ({ epoch, step }) => {
          steps.push([epoch, step]);
          const [stopEpoch, stopStep] = interruptAt ?? [-1, -1];
          if (epoch === stopEpoch && step === stopStep) throw new Error('interrupted');
        },
        afterEpoch: ({ epoch, step }) => {
          epochs.push(epoch);
          expect(step).toBe(4);
        },
      });
      // The step (1, 2) throws before its checkpoint: the run keeps the checkpoint after (1, 1).
      const interrupted = train({ ...options, model: buildModel(TINY_SPEC, 6), hooks: hooks([1, 2]) });
      await expect(interrupted).rejects.toThrow('interrupted');
      expect(epochs).toEqual([0]);
      expect(freshStarts).toBe(1);
      steps.length = 0;
      await train({ ...options, model: buildModel(TINY_SPEC, 6), hooks: hooks() });
      expect(epochs).toEqual([0, 1, 2]);
      expect(freshStarts).toBe(1);
      expect(steps.slice(0, 3)).toEqual([[1, 2], [1, 3], [2, 0]]);
    });

  it('a hook naming an unknown weight is a named error that lists the name and known names', async () => {
    const run = (hooks: TrainingHooks) => train({ model: buildModel(TINY_SPEC, 1), spec: TINY_SPEC,
      data: syntheticData(16), recipe: tinyRecipe(1, 16), seed: 1, runDir: tmpDir('unknown-'), hooks,
      progress: false });
    const badMask = run({ masks: new Map([['features.7.conv/kernel', tf.ones([3, 3, 4, 8])]]) });
    await expect(badMask).rejects.toThrow(UnknownWeightError);
    await expect(badMask).rejects
      .toThrow(/masks names unknown weight 'features\.7\.conv\/kernel'.*'features\.0\.conv\/kernel'/);
    const badGradient = run({ extraGradients: () => new Map([['features.1.bn/gama', tf.zeros([8])]]) });
    await expect(badGradient).rejects.toThrow(UnknownWeightError);
    await expect(badGradient).rejects.toThrow(/extraGradients names unknown weight 'features\.1\.bn\/gama'/);
    const unknownMask = new Map([['nope/kernel', tf.ones([1])]]);
    expect(() => applyMasks(buildModel(TINY_SPEC, 1), unknownMask)).toThrow(UnknownWeightError);
  });
});
