import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import {
  initBackend, loadModelDir, namedWeights, PROFILES, runGrid, shutdownBackend, widthsPath, type PruneRecord,
} from '@rethink-prune/core';
import { sharedTestDataDir, writeTinyImageNet } from '@rethink-prune/datasets';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { weightLevelMethod } from './method';

beforeAll(async () => { await initBackend('wasm'); });
afterAll(() => shutdownBackend());

/**
 * The smoke profile's ÷8 weight-level VGG-19 on 32×32×1 Fashion-MNIST, by hand: conv kernels 72, 576,
 * 1 152, 2 304, 4 608, 9 216 ×3, 18 432, 36 864 ×7 = 312 840 weights; params add 688 conv biases,
 * 2 · 688 BN γβ and the 64·10 + 10 linear layer = 315 554. FLOPs (count_flops.py, dense) 12 701 962.
 * Output positions of each conv below.
 */
const CONV_WEIGHTS = [72, 576, 1152, 2304, 4608, 9216, 9216, 9216, 18432, ...Array(7).fill(36864)];
const OUTPUT_POSITIONS = [1024, 1024, 256, 256, 64, 64, 64, 64, 16, 16, 16, 16, 4, 4, 4, 4];
const TOTAL_WEIGHTS = 312840;
const PARAMS = 315554;
const DENSE_FLOPS = 12701962;

describe('reproduce (smoke profile, real Fashion-MNIST images)', () => {
  it('prunes 80% of VGG-19\'s conv weights and runs every stage with the masked weights at 0', async () => {
    const runDir = fs.mkdtempSync(path.join(os.tmpdir(), 'weight-level-'));
    const dataDir = sharedTestDataDir();
    const grid = { profile: PROFILES.smoke, dataset: 'fashion-mnist' as const, dataDir, seeds: 1, runDir };
    const [row, ...rest] = await runGrid(weightLevelMethod, { ...grid, variants: ['vgg19-80'] });
    expect(rest).toHaveLength(0);
    expect([row.method, row.model, row.variant, row.paper_source])
      .toEqual(['weight-level', 'vgg19-wl', 'vgg19-80', 'Table 6 (v1): CIFAR-10 / VGG-19 / 80%']);
    const paperColumns = ['baseline', 'finetuned', 'scratch_e', 'scratch_b'] as const;
    expect(paperColumns.map((stage) => row[`paper_acc_${stage}`])).toEqual([93.5, 93.52, 93.71, 93.64]);
    const accuracies = ['before_finetune', 'baseline', 'finetuned', 'scratch_e', 'scratch_b'] as const;
    for (const stage of accuracies) {
      expect(row[`acc_${stage}`]).toBeGreaterThanOrEqual(0);
      expect(row[`acc_${stage}`]).toBeLessThanOrEqual(100);
    }
    // int(312 840 · 0.8) = 250 272: at least 250 273 weights go, 80.0003% (rounded to two decimals).
    expect(row.sparsity_pct as number).toBeGreaterThanOrEqual(80);
    expect(row.sparsity_pct as number).toBeLessThan(80.01);

    const seedDir = path.join(runDir, 'smoke', 'fashion-mnist', 'vgg19-wl', 'seed0');
    const variantDir = path.join(seedDir, 'vgg19-80');
    expect(fs.readdirSync(variantDir).sort()).toEqual(['finetune', 'latency.json', 'pruned', 'scratch-b', 'scratch-e']);
    const recordFile = path.join(variantDir, 'pruned', 'prune.json');
    const record = JSON.parse(fs.readFileSync(recordFile, 'utf8')) as PruneRecord;
    expect(record.masks).toBe(true);
    const pruned = await loadModelDir(path.join(variantDir, 'pruned'));
    const masks = pruned.masks!;
    const convNames = CONV_WEIGHTS.map((_, i) => `features.${i}.conv/kernel`);
    expect([...masks.keys()]).toEqual(convNames);
    const kept = convNames.map((name) =>
      Array.from(masks.get(name)!.dataSync()).reduce((sum, value) => sum + value, 0));
    const zeros = TOTAL_WEIGHTS - kept.reduce((sum, count) => sum + count, 0);
    expect(zeros).toBeGreaterThanOrEqual(250273);

    // count_flops.py: only non-zero conv weights count, 2 per output position; params lose the zeros too.
    const sparseFlops = DENSE_FLOPS - CONV_WEIGHTS.reduce((sum, weights, i) =>
      sum + 2 * (weights - kept[i]) * OUTPUT_POSITIONS[i], 0);
    expect([row.params, row.pruned_params, row.flops, row.pruned_flops])
      .toEqual([PARAMS, PARAMS - zeros, DENSE_FLOPS, sparseFlops]);
    // cifar_B.py's intended budget: int(epochs · F_dense / F_sparse) with the smoke profile's 1 epoch.
    expect([row.epochs_baseline, row.epochs_finetune, row.epochs_scratch_e]).toEqual([1, 1, 1]);
    expect(row.epochs_scratch_b).toBe(Math.floor(DENSE_FLOPS / sparseFlops));
    expect(row.epochs_scratch_b).toBeGreaterThan(1);

    // Every saved model after the prune has its masked weights at exactly 0.
    const saved = [path.join(variantDir, 'pruned'), ...['finetune', 'scratch-e', 'scratch-b']
      .flatMap((stage) => ['best', 'final'].map((which) => path.join(variantDir, stage, which)))];
    for (const dir of saved) {
      const { model } = await loadModelDir(dir);
      const weights = namedWeights(model);
      for (const [name, mask] of masks) {
        const [values, keep] = [weights.get(name)!.read().dataSync(), mask.dataSync()];
        expect(values.every((value, i) => keep[i] === 1 || value === 0), `${dir} ${name}`).toBe(true);
      }
      model.dispose();
    }
    pruned.model.dispose();

    const report = fs.readFileSync(widthsPath(grid, weightLevelMethod), 'utf8');
    expect(path.basename(widthsPath(grid, weightLevelMethod))).toBe('sparsity-fashion-mnist.md');
    expect(report).toContain('### weight-level vgg19-80 on fashion-mnist (1 seed)');
    expect(report).toContain('| # | layer | weights | non-zero (mean ± std) |');
    expect(report).toContain(`| 1 | features.0.conv/kernel | 72 | ${kept[0].toFixed(1)} ± 0.0 |`);
    expect(report).toContain(`| | total | ${TOTAL_WEIGHTS} | ${(TOTAL_WEIGHTS - zeros).toFixed(1)} ± 0.0 |`);
  });
});

describe('reproduce on an ImageNet-layout folder (smoke profile)', () => {
  it('prunes 30% of torchvision VGG-16-BN\'s conv weights and trains every stage (Table 6, ImageNet VGG-16)', async () => {
    const dataDir = writeTinyImageNet(sharedTestDataDir());
    const runDir = fs.mkdtempSync(path.join(os.tmpdir(), 'weight-level-imagenet-'));
    const [row] = await runGrid(weightLevelMethod,
      { profile: PROFILES.smoke, dataset: 'imagenet', dataDir, variants: ['vgg16-30'], seeds: 1, runDir });
    expect([row.model, row.paper_source]).toEqual(['vgg16-bn-imagenet',
      'Table 6 (v1): ImageNet / VGG-16 (torchvision vgg16_bn, as the seed\'s README trains it) / 30%']);
    expect(row.paper_acc_finetuned).toBe(73.68);
    expect(row.sparsity_pct as number).toBeCloseTo(30, 1);
    for (const column of ['acc_finetuned', 'acc_scratch_e', 'acc_scratch_b'] as const) {
      expect(typeof row[column]).toBe('number');
    }
  });
});
