import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import type * as tf from '@tensorflow/tfjs';
import { initBackend, loadModelDir, PROFILES, runGrid, shutdownBackend } from '@rethink-prune/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sfpMethod } from './method';
import { sharedTestDataDir } from '@rethink-prune/datasets';

beforeAll(async () => { await initBackend('wasm'); });
afterAll(() => shutdownBackend());

/** Filters of an NHWC kernel (or its 0/1 mask) whose entries are all 0, read in plain JS. */
function zeroFilterCount(kernel: tf.Tensor): number {
  const outputs = kernel.shape[3] as number;
  const nonZero = new Array<boolean>(outputs).fill(false);
  kernel.dataSync().forEach((value, index) => { if (value !== 0) nonZero[index % outputs] = true; });
  return nonZero.filter((isNonZero) => !isNonZero).length;
}

/** The 19 convs of ResNet-20 with their output widths at ÷8 (2/4/8 channels), listed by hand. */
const CONVS_DIV8: Array<[string, number]> = [['conv1', 2], ...[2, 4, 8].flatMap((width, stage) =>
  [0, 1, 2].flatMap((block) => ['conv1', 'conv2'].map((conv) =>
    [`layer${stage + 1}.${block}.${conv}`, width] as [string, number])))];
/** int(0.3 · C) at the ÷8 widths: int(0.6), int(1.2), int(2.4). */
const ZEROED_DIV8: Record<number, number> = { 2: 0, 4: 1, 8: 2 };

const readJson = (file: string) => JSON.parse(fs.readFileSync(file, 'utf8'));
const metricsLrs = (dir: string) => fs.readFileSync(path.join(dir, 'metrics.jsonl'), 'utf8').trim().split('\n')
  .map((line) => (JSON.parse(line) as { lr: number }).lr);

describe('reproduce (smoke profile, real Fashion-MNIST images)', () => {
  it('runs SFP from scratch and from the plain baseline through every stage, zeroing whole filters', async () => {
    const runDir = fs.mkdtempSync(path.join(os.tmpdir(), 'sfp-'));
    const dataDir = sharedTestDataDir();
    const grid = { profile: PROFILES.smoke, dataset: 'fashion-mnist' as const, dataDir, seeds: 1, runDir };
    const rows = await runGrid(sfpMethod, { ...grid, variants: ['resnet20', 'resnet20-pretrained'] });
    expect(rows.map((row) => [row.method, row.model, row.variant])).toEqual([
      ['soft-filter-pruning', 'resnet20-sfp', 'resnet20'],
      ['soft-filter-pruning', 'resnet20-sfp', 'resnet20-pretrained'],
    ]);
    for (const row of rows) {
      const accuracies =
        ['acc_baseline', 'acc_baseline_plain', 'acc_finetuned', 'acc_scratch_e', 'acc_scratch_b'] as const;
      for (const k of accuracies) {
        expect(row[k], `${row.variant} ${k}`).toBeGreaterThanOrEqual(0);
        expect(row[k], `${row.variant} ${k}`).toBeLessThanOrEqual(100);
      }
      expect(row.sparsity_pct as number).toBeGreaterThan(0);
      // Masked convs count their non-zero weights only: fewer FLOPs, a ratio between 1 and 1.5 at rate 0.7.
      const ratio = (row.flops as number) / (row.pruned_flops as number);
      expect(ratio).toBeGreaterThan(1);
      expect(ratio).toBeLessThan(1.5);
      // Narrow profiles: Scratch-B trains int(2 · E · r) epochs with E = 1, the seed's int(400 · r) over 200.
      expect(row.epochs_scratch_b).toBe(Math.floor(2 * 1 * ratio));
      expect(row.epochs_scratch_e).toBe(1);
    }

    const seedDir = path.join(runDir, 'smoke', 'fashion-mnist', 'resnet20-sfp', 'seed0');
    expect(fs.readdirSync(seedDir).sort())
      .toEqual(['baseline', 'baseline-sfp', 'baseline-sfp-pretrained', 'resnet20', 'resnet20-pretrained']);

    for (const variant of ['resnet20', 'resnet20-pretrained']) {
      // The dense model the zeros allow: at ÷8 widths only the 4- and 8-wide stages' first convs lose filters.
      const { report } = readJson(path.join(seedDir, variant, 'pruned', 'prune.json'));
      expect(report['dense model']).toMatch(/^FLOPs \d+ \(\d+\.\d% fewer; .*\); shrinks 6 convs \(layer2\.0\.conv1, /);
      expect(report['dense model top-1']).toMatch(/^\d+\.\d\d% /);
      const { model, masks } = await loadModelDir(path.join(seedDir, variant, 'pruned'));
      expect(masks, variant).toBeDefined();
      for (const [conv, width] of CONVS_DIV8) {
        const mask = masks!.get(`${conv}/kernel`);
        expect(mask, `${variant} ${conv}`).toBeDefined();
        expect(zeroFilterCount(mask!), `${variant} ${conv} mask`).toBe(ZEROED_DIV8[width]);
        const kernel = model.getLayer(conv).getWeights()[0];
        expect(zeroFilterCount(kernel), `${variant} ${conv}`).toBe(ZEROED_DIV8[width]);
      }
      model.dispose();
      for (const mask of masks!.values()) mask.dispose();
    }

    // The hooked baselines' last epoch ends with a prune: their final weights hold the same zeros.
    for (const hooked of ['baseline-sfp', 'baseline-sfp-pretrained']) {
      const { model } = await loadModelDir(path.join(seedDir, hooked, 'final'));
      for (const [conv, width] of CONVS_DIV8) {
        const kernel = model.getLayer(conv).getWeights()[0];
        expect(zeroFilterCount(kernel), `${hooked} ${conv}`).toBe(ZEROED_DIV8[width]);
      }
      model.dispose();
    }

    // Smoke recipe: LR 0.1 for the plain and the from-scratch SFP baseline; a tenth of it from the plain baseline.
    const identity = (dir: string) => readJson(path.join(seedDir, dir, 'result.json')).identity;
    expect(identity('baseline').recipe.lr).toBeCloseTo(0.1, 12);
    expect(identity('baseline-sfp').recipe.lr).toBeCloseTo(0.1, 12);
    expect(identity('baseline-sfp-pretrained').recipe.lr).toBeCloseTo(0.01, 12);
    expect(identity('baseline-sfp-pretrained').start).toBe('plain-baseline');
    expect(identity('baseline-sfp').start).toBeUndefined();
    expect(metricsLrs(path.join(seedDir, 'baseline'))).toEqual([0.1]);
    const pretrainedLrs = metricsLrs(path.join(seedDir, 'baseline-sfp-pretrained'));
    expect(pretrainedLrs).toHaveLength(1);
    expect(pretrainedLrs[0]).toBeCloseTo(0.01, 12);
    // It starts from the plain baseline's best weights: its saved initial weights are those.
    const [plainBest, pretrainedInit] = await Promise.all([
      loadModelDir(path.join(seedDir, 'baseline', 'best')),
      loadModelDir(path.join(seedDir, 'baseline-sfp-pretrained', 'init')),
    ]);
    const values = (model: tf.LayersModel) => model.getWeights().map((weight) => Array.from(weight.dataSync()));
    expect(values(pretrainedInit.model)).toEqual(values(plainBest.model));
    plainBest.model.dispose();
    pretrainedInit.model.dispose();
  });
});
