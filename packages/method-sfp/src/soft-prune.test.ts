import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs';
import {
  buildModel, initBackend, namedSpec, namedWeights, narrowSpec, shutdownBackend, train,
  type ArchSpec, type Recipe, type TrainingData, type TrainingHooks,
} from '@rethink-prune/core';
import { DATASETS } from '@rethink-prune/datasets';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { softPrune, softPruneMasks, softPruneTraining, zeroedFilterCount } from './soft-prune';
import './models'; // the folder's named models

beforeAll(async () => { await initBackend('cpu'); });
afterAll(() => shutdownBackend());

/** The trainable convs of a CIFAR ResNet-20 with their output widths, listed by hand for stage widths w. */
function resnet20Convs(widths: [number, number, number]): Array<[string, number]> {
  const convs: Array<[string, number]> = [['conv1', widths[0]]];
  widths.forEach((width, stage) => {
    for (let block = 0; block < 3; block++) {
      convs.push([`layer${stage + 1}.${block}.conv1`, width], [`layer${stage + 1}.${block}.conv2`, width]);
    }
  });
  return convs;
}

/** Per filter of an NHWC kernel [kh, kw, in, out]: the sum of squares, read in plain JS. */
function filterSquares(model: tf.LayersModel, conv: string): number[] {
  const kernel = model.getLayer(conv).getWeights()[0];
  const values = kernel.dataSync();
  const outputs = kernel.shape[3] as number;
  const squares = new Array<number>(outputs).fill(0);
  values.forEach((value, index) => { squares[index % outputs] += value * value; });
  return squares;
}

const zeroFilters = (model: tf.LayersModel, conv: string) =>
  filterSquares(model, conv).flatMap((square, filter) => (square === 0 ? [filter] : []));

/** Every weight of the model but the conv kernels, by name (BN γ/β/statistics, fc). */
function otherWeights(model: tf.LayersModel): Map<string, number[]> {
  const kept = new Map<string, number[]>();
  for (const [name, weight] of namedWeights(model)) {
    if (!/conv\d\/kernel$/.test(name)) kept.set(name, Array.from(weight.read().dataSync()));
  }
  return kept;
}

describe('softPrune: the int(C·(1 − rate)) lowest-L2 filters of every conv (pruning_cifar10_resnet.py)', () => {
  it('zeroedFilterCount at the seed rate 0.7: 16 → 4, 32 → 9, 64 → 19 (method-facts §2.2)', () => {
    expect([16, 32, 64].map((filters) => zeroedFilterCount(filters, 0.7))).toEqual([4, 9, 19]);
    // ÷8 widths of the smoke profile: int(0.6), int(1.2), int(2.4).
    expect([2, 4, 8].map((filters) => zeroedFilterCount(filters, 0.7))).toEqual([0, 1, 2]);
  });

  it('ResNet-20-sfp: masks on all 19 convs (stem and second convs too), the smallest norms zeroed', () => {
    const model = buildModel(namedSpec('resnet20-sfp'), 3);
    const convs = resnet20Convs([16, 32, 64]);
    const norms = new Map(convs.map(([conv]) => [conv, filterSquares(model, conv)]));
    const masks = softPruneMasks(model, 0.7);
    expect([...masks.keys()].sort()).toEqual(convs.map(([conv]) => `${conv}/kernel`).sort());
    for (const mask of masks.values()) mask.dispose();
    const before = otherWeights(model);
    softPrune(model, 0.7);
    const expectedZeroed: Record<number, number> = { 16: 4, 32: 9, 64: 19 };
    for (const [conv, width] of convs) {
      const zeroed = zeroFilters(model, conv);
      expect(zeroed, conv).toHaveLength(expectedZeroed[width]);
      const squares = norms.get(conv)!;
      const kept = squares.filter((_, filter) => !zeroed.includes(filter));
      // Every zeroed filter had a norm no larger than any kept one, and a kept filter is left as it was.
      expect(Math.max(...zeroed.map((filter) => squares[filter])), conv).toBeLessThanOrEqual(Math.min(...kept));
      expect(filterSquares(model, conv).filter((_, filter) => !zeroed.includes(filter)), conv).toEqual(kept);
    }
    expect(otherWeights(model)).toEqual(before);
    model.dispose();
  });

  it('hand-set stem kernel: the four smallest of 16 filters go, a tie at the boundary to the lower index', () => {
    const model = buildModel(namedSpec('resnet20-sfp'), 4);
    // Filter f holds one value everywhere; 2, 5, 8 are smallest; 4, 10 and 11 tie next, so 4 goes, 10 and 11 stay.
    const values = Array.from({ length: 16 }, (_, filter) => 1 + filter / 10);
    for (const filter of [2, 5, 8]) values[filter] = 0.01;
    for (const filter of [4, 10, 11]) values[filter] = -0.02; // the norm ignores the sign
    const kernel = tf.tidy(() => tf.mul(tf.ones([3, 3, 3, 16]), tf.tensor1d(values)));
    model.getLayer('conv1').setWeights([kernel]);
    kernel.dispose();
    softPrune(model, 0.7);
    expect(zeroFilters(model, 'conv1')).toEqual([2, 4, 5, 8]);
    const squares = filterSquares(model, 'conv1');
    // A kept filter's 27 weights are untouched: 27 · value².
    expect(squares[10]).toBeCloseTo(27 * 0.02 * 0.02, 8);
    expect(squares[15]).toBeCloseTo(27 * 2.5 * 2.5, 4);
    model.dispose();
  });
});

/** `count` 32×32×1 images of deterministic noise, labels cycling over the 10 classes (train = test). */
function noiseData(count: number): TrainingData {
  let state = 2024;
  // A 32-bit linear congruential generator (Numerical Recipes): the pixels only need to differ.
  const nextByte = () => (state = (Math.imul(state, 1664525) + 1013904223) >>> 0) >>> 24;
  const images = Uint8Array.from({ length: count * 32 * 32 }, nextByte);
  const labels = Uint8Array.from({ length: count }, (_, i) => i % 10);
  const set = { images, labels, count, height: 32, width: 32, channels: 1, classes: 10 };
  return { train: set, test: set, info: DATASETS.mnist };
}

/** ResNet-20-sfp at half width (8/16/32 channels) on 32×32×1 images: 2, 4 and 9 filters zeroed per conv. */
const HALF: ArchSpec = narrowSpec(namedSpec('resnet20-sfp', 'mnist'), 2);
const HALF_ZEROED: Record<number, number> = { 8: 2, 16: 4, 32: 9 };
/** Eight images in one batch: one optimiser step per epoch. */
const ONE_STEP: Recipe =
  { epochs: 1, batchSize: 8, lr: 0.1, momentum: 0.9, weightDecay: 5e-4, milestones: [], gamma: 0.1, nesterov: true };
const tmp = (prefix: string) => fs.mkdtempSync(path.join(os.tmpdir(), prefix));

async function trainOneStep(model: tf.LayersModel, hooks?: TrainingHooks, epochs = 1): Promise<void> {
  await train({ model, spec: HALF, data: noiseData(8), recipe: { ...ONE_STEP, epochs }, seed: 1,
    runDir: tmp('sfp-soft-'), hooks, limit: { test: 8 }, progress: false });
}

/** Sets every BN β of the model to `value` (a trained model's shifts are not 0). */
function setAllBeta(model: tf.LayersModel, value: number): void {
  for (const [name, weight] of namedWeights(model)) {
    if (name.endsWith('/beta')) weight.write(tf.fill(weight.shape as number[], value));
  }
}

describe('soft, not hard: the zeroed filters train on until the next prune', () => {
  it('one SGD step without hooks makes every zeroed filter non-zero again (BN β > 0, as trained)', async () => {
    const model = buildModel(HALF, 5);
    setAllBeta(model, 0.1);
    softPrune(model, 0.7);
    const zeroedBefore = resnet20Convs([8, 16, 32]).map(([conv]) => [conv, zeroFilters(model, conv)] as const);
    zeroedBefore.forEach(([conv, zeroed]) => expect(zeroed.length, conv).toBeGreaterThan(0));
    await trainOneStep(model);
    for (const [conv, zeroed] of zeroedBefore) {
      const squares = filterSquares(model, conv);
      for (const filter of zeroed) expect(squares[filter], `${conv} filter ${filter}`).toBeGreaterThan(0);
    }
    model.dispose();
  });

  it('at init (β = 0) a zeroed filter before BN → ReLU gets no gradient: stem and conv1 stay 0', async () => {
    // The channel is 0 before BN, β = 0 after it, and ReLU's gradient at 0 is 0 (as in PyTorch): the filter is dead.
    const model = buildModel(HALF, 6);
    softPrune(model, 0.7);
    const deadConvs = resnet20Convs([8, 16, 32]).filter(([conv]) => !conv.endsWith('conv2'));
    const zeroedBefore = deadConvs.map(([conv]) => [conv, zeroFilters(model, conv)] as const);
    await trainOneStep(model);
    for (const [conv, zeroed] of zeroedBefore) expect(zeroFilters(model, conv), conv).toEqual(zeroed);
    model.dispose();
  });
});

describe("softPruneTraining: the seed's schedule as training hooks", () => {
  it("'scratch' zeroes on beforeTraining and after every epoch, ending with the exact counts", async () => {
    const model = buildModel(HALF, 7);
    setAllBeta(model, 0.1); // so that zeroed filters regrow during an epoch and the next prune has work to do
    const hooks = softPruneTraining(0.7, 'scratch').hooks(model);
    const convs = resnet20Convs([8, 16, 32]);
    const counted = () => convs.map(([conv]) => zeroFilters(model, conv).length);
    const expected = convs.map(([, width]) => HALF_ZEROED[width]);
    expect(counted().every((count) => count === 0)).toBe(true);
    let afterBefore: number[] = [];
    const afterEpochs: number[][] = [];
    const afterSteps: number[][] = [];
    await trainOneStep(model, {
      beforeTraining: async (trained) => { await hooks.beforeTraining!(trained); afterBefore = counted(); },
      afterStep: () => { afterSteps.push(counted()); },
      afterEpoch: async (ctx) => { await hooks.afterEpoch!(ctx); afterEpochs.push(counted()); },
    }, 2);
    expect(afterBefore).toEqual(expected);
    // In between, the step lets the zeroed filters grow back; each epoch's end zeroes them again.
    expect(afterSteps).toHaveLength(2);
    for (const counts of afterSteps) expect(counts.every((count) => count === 0)).toBe(true);
    expect(afterEpochs).toEqual([expected, expected]);
    expect(counted()).toEqual(expected);
    model.dispose();
  });

  it("'pretrained' starts from the plain baseline at a tenth of its LR, under its own id", () => {
    const scratch = softPruneTraining(0.7, 'scratch');
    const pretrained = softPruneTraining(0.7, 'pretrained');
    expect([scratch.id, pretrained.id]).toEqual(['sfp', 'sfp-pretrained']);
    expect(scratch.params).toEqual({ rate: 0.7, everyEpochs: 1 });
    expect(scratch.start).toBeUndefined();
    expect(scratch.recipe).toBeUndefined();
    expect(pretrained.start).toBe('plain-baseline');
    const plain: Recipe = { epochs: 200, batchSize: 128, lr: 0.01, momentum: 0.9, weightDecay: 5e-4,
      milestones: [1, 60, 120, 160], gamma: 1, gammas: [10, 0.2, 0.2, 0.2], nesterov: true };
    // The seed's README: the baseline trains at --lr 0.01, SFP with --resume at 0.001; nothing else changes.
    const { lr, ...rest } = pretrained.recipe!(plain);
    expect(lr).toBeCloseTo(0.001, 12);
    const { lr: _plainLr, ...plainRest } = plain;
    expect(rest).toEqual(plainRest);
  });
});

describe('recalibrating BN after each zeroing (the -bn-recalibrate variants, not the seed\'s)', () => {
  it('runs training batches forward after the zeroing: a zeroed channel\'s moving variance falls to ~0, weights stay', async () => {
    const hooks = softPruneTraining(0.7, 'scratch', true).hooks(buildModel(HALF, 3));
    const model = buildModel(HALF, 3);
    setAllBeta(model, 0.25);
    // A trained model's statistics: variance 2 everywhere.
    for (const [name, weight] of namedWeights(model)) {
      if (name.endsWith('/moving_variance')) weight.write(tf.fill(weight.shape as number[], 2));
    }
    let afterHook: { variance: number[]; kernel: number[] } | undefined;
    let beforeHook: number[] = [];
    await trainOneStep(model, {
      afterEpoch: async (ctx) => {
        beforeHook = Array.from(model.getLayer('bn1').getWeights()[3].dataSync());
        await hooks.afterEpoch!(ctx);
        afterHook = { variance: Array.from(model.getLayer('bn1').getWeights()[3].dataSync()),
          kernel: Array.from(model.getLayer('conv1').getWeights()[0].dataSync()) };
      },
    });
    const zeroed = zeroFilters(model, 'conv1');
    expect(zeroed).toHaveLength(HALF_ZEROED[8]);
    // Up to 50 batches forward; this epoch has one. A zeroed filter outputs 0, so that batch's variance there is 0:
    // the moving variance after the hook is 0.9 × what the training step left.
    for (const c of zeroed) expect(afterHook!.variance[c]).toBeCloseTo(0.9 * beforeHook[c], 6);
    expect(zeroed.every((c) => beforeHook[c] > 1)).toBe(true);
    // the forward passes changed no weight: the kernel is the zeroed one
    expect(afterHook!.kernel).toEqual(Array.from(model.getLayer('conv1').getWeights()[0].dataSync()));
  });

  it('is a variant of its own, with its own training id (a changed stage, never the seed\'s reused)', () => {
    const recalibrated = softPruneTraining(0.7, 'pretrained', true);
    expect(recalibrated.id).toBe('sfp-pretrained-bn-recalibrate');
    expect(recalibrated.params).toEqual({ rate: 0.7, everyEpochs: 1, recalibrateBnBatches: 50 });
  });
});
