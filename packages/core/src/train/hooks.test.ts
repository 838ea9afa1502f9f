import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initBackend, shutdownBackend } from '../backend';
import { UnknownWeightError } from '../errors';
import { applyMasks, namedWeights, type MaskSet } from '../pruning/masks';
import { buildModel } from '../spec';
import { syntheticData, TINY_SPEC, tinyRecipe, tmpDir } from '../test-util/tiny-run';
import { readCheckpoint } from './checkpoint';
import { train, type TrainingHooks } from './loop';
import type { Recipe } from './recipe';
import { OwnedStateError, type OptimizerBuffer, type OwnedUpdate } from './sgd';

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

/**
 * A test update with state, for the ownUpdate hook: v ← friction·v + g; w ← w − lr·v, in float32 arrays.
 * It records every LR it was given.
 */
function heavyBall(weights: string[], friction: number): OwnedUpdate & { lrs: number[] } {
  let velocities = new Map<string, OptimizerBuffer>();
  const lrs: number[] = [];
  return {
    weights, lrs,
    step(variables, gradients, lr) {
      lrs.push(lr);
      for (const name of weights) {
        const weight = variables.get(name)!;
        const gradient = gradients.get(name)!.dataSync();
        const velocity = velocities.get(name)?.values ?? new Float32Array(gradient.length);
        const values = Float32Array.from(weight.dataSync());
        velocity.forEach((previous, i) => { velocity[i] = friction * previous + gradient[i]; });
        values.forEach((value, i) => { values[i] = value - lr * velocity[i]; });
        velocities.set(name, { shape: weight.shape, values: velocity });
        weight.assign(tf.tensor(values, weight.shape));
      }
    },
    state: () =>
      [...velocities.values()].map(({ shape, values }) => ({ shape, values: Float32Array.from(values) })),
    setState(state) {
      velocities = new Map(state.map(({ shape, values }, i) =>
        [weights[i], { shape, values: Float32Array.from(values) }]));
    },
  };
}

describe('the ownUpdate hook', () => {
  it('gives the owned weight its data gradient and the LR, without SGD\'s weight decay or momentum buffer',
    async () => {
      const recipe = { ...tinyRecipe(1, 16), lr: 0.1, weightDecay: 0.05 };
      const owned = heavyBall([GAMMA], 0);
      const withHook = await gammaAfterOneStep(recipe, { ownUpdate: owned });
      // Plain SGD's first step from v = 0 without decay, w1 = w0 − lr·g, is the hook's step with friction 0.
      const withoutDecay = await gammaAfterOneStep({ ...recipe, weightDecay: 0 });
      // Had SGD decayed γ as well, the two would differ by lr·wd·w0 = 0.1·0.05·w0 (≥ 5e-4 here).
      withHook.forEach((value, i) => expect(Math.abs(value - withoutDecay[i])).toBeLessThan(1e-6));
      expect(owned.lrs).toEqual([0.1]);
    });

  it('is checkpointed: 2 epochs straight equal 1 epoch, a stop, and a resume with a new hook object',
    async () => {
      // LR 0.1 in epoch 1, 0.01 in epoch 2; 32 images in batches of 8 (4 steps an epoch).
      const recipe = { ...tinyRecipe(2, 8), milestones: [1] };
      const ownedNames = [GAMMA, 'classifier/bias'];
      const options = { spec: TINY_SPEC, data: syntheticData(32), recipe, seed: 3,
        limit: { train: 32, test: 16 }, progress: false };
      const straightModel = buildModel(TINY_SPEC, 8);
      const straight = heavyBall(ownedNames, 0.5);
      const straightDir = tmpDir('owned-straight-');
      await train({ ...options, model: straightModel, runDir: straightDir, hooks: { ownUpdate: straight } });
      // Rounded to 12 digits: the schedule computes 0.1·0.1 = 0.010000000000000002.
      const rounded = (lrs: number[]) => lrs.map((lr) => Number(lr.toPrecision(12)));
      expect(rounded(straight.lrs)).toEqual([0.1, 0.1, 0.1, 0.1, 0.01, 0.01, 0.01, 0.01]);
      // SGD keeps no momentum for owned weights; the hook's state is stored beside SGD's buffers.
      const saved = (await readCheckpoint(straightDir))!;
      expect(Object.keys(saved.optimizer)).not.toContain(GAMMA);
      expect(Object.keys(saved.optimizer)).toContain('features.1.bn/beta');
      const savedBias = saved.optimizer['#owned-update/1'].values;
      expect(Array.from(savedBias)).toEqual(Array.from(straight.state()[1].values));
      saved.model.dispose();

      const runDir = tmpDir('owned-resumed-');
      const stopAtEpoch2 = { afterStep: ({ epoch }: { epoch: number }) => {
        if (epoch === 1) throw new Error('interrupted');
      } };
      await expect(train({ ...options, model: buildModel(TINY_SPEC, 8), runDir,
        hooks: { ownUpdate: heavyBall(ownedNames, 0.5), ...stopAtEpoch2 } })).rejects.toThrow('interrupted');
      // The checkpoint holds the hook's state: resuming without the hook is refused.
      await expect(train({ ...options, model: buildModel(TINY_SPEC, 8), runDir })).rejects
        .toThrow(OwnedStateError);
      const resumedModel = buildModel(TINY_SPEC, 8);
      const resumed = heavyBall(ownedNames, 0.5);
      await train({ ...options, model: resumedModel, runDir, hooks: { ownUpdate: resumed } });
      expect(rounded(resumed.lrs)).toEqual([0.01, 0.01, 0.01, 0.01]);
      const values = (model: tf.LayersModel) =>
        model.getWeights().map((weight) => Array.from(weight.dataSync()));
      expect(values(resumedModel)).toEqual(values(straightModel));
      const stateValues = (update: OwnedUpdate) => update.state().map((buffer) => Array.from(buffer.values));
      expect(stateValues(resumed)).toEqual(stateValues(straight));
      // The hook's momentum matters here: it is not zero at the stop.
      expect(stateValues(straight)[0].some((value) => value !== 0)).toBe(true);
    });

  it('an owned weight the model lacks is a named error', async () => {
    const run = train({ model: buildModel(TINY_SPEC, 1), spec: TINY_SPEC, data: syntheticData(16),
      recipe: tinyRecipe(1, 16), seed: 1, runDir: tmpDir('unknown-owned-'), progress: false,
      hooks: { ownUpdate: heavyBall(['features.1.bn/lambda'], 0) } });
    await expect(run).rejects.toThrow(/ownUpdate names unknown weight 'features\.1\.bn\/lambda'/);
  });
});
