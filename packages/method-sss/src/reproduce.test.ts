import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import {
  initBackend, loadModelDir, PROFILES, runGrid, shutdownBackend, type MethodDefinition, type PruneRecord,
  type PreResNetSpec, type ResNetSpec,
} from '@rethink-prune/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { blockFactors, sssMethod } from './method';
import type { SssVariant } from './variants';
import { sharedTestDataDir } from '@rethink-prune/datasets';

beforeAll(async () => { await initBackend('wasm'); });
afterAll(() => shutdownBackend());

/** SSS with two extra searches on ResNet-20: a strong γ (3 smoke steps at LR 0.1 reach 0) and none at all. */
const method: MethodDefinition<SssVariant> = {
  ...sssMethod,
  variants: { ...sssMethod.variants, 'resnet20-g4': { base: 'resnet20-sss', gamma: 4 }, 'resnet20-g0': { base: 'resnet20-sss', gamma: 0 },
    'preresnet110-g4': { base: 'preresnet110-sss', gamma: 4 } },
};

describe('SSS on ResNet-20 (smoke profile, real Fashion-MNIST images)', () => {
  const runDir = fs.mkdtempSync(path.join(os.tmpdir(), 'sss-'));
  const dataDir = sharedTestDataDir();
  const grid = { profile: PROFILES.smoke, dataset: 'fashion-mnist' as const, dataDir, seeds: 1, runDir };
  const seedDir = path.join(runDir, 'smoke', 'fashion-mnist', 'resnet20-sss', 'seed0');

  it('with γ > 0 some λ reach exactly 0, those blocks go, and the pruned net scores exactly what the searched one did', async () => {
    const [row] = await runGrid(method, { ...grid, variants: ['resnet20-g4'] });
    const searched = await loadModelDir(path.join(seedDir, 'baseline-sss-g4', 'best'));
    const factors = [...blockFactors(searched.model, searched.spec as ResNetSpec).values()];
    expect(factors.some((value) => value === 0)).toBe(true);
    expect(factors.every((value) => value >= 0)).toBe(true);
    const record = JSON.parse(fs.readFileSync(path.join(seedDir, 'resnet20-g4', 'pruned', 'prune.json'), 'utf8')) as PruneRecord;
    const spec = record.spec as ResNetSpec;
    // Stages 2 and 3 keep their first block (its shortcut changes shape); every other zero-λ block goes.
    const zeroRemovable = [...blockFactors(searched.model, searched.spec as ResNetSpec)]
      .filter(([name, value]) => value === 0 && !/^layer[23]\.0$/.test(name)).length;
    expect(spec.blocks!.reduce((sum, count) => sum + count, 0)).toBe(9 - zeroRemovable);
    expect(spec.blockScales).toBeUndefined();
    expect(String(record.report!['blocks removed'])).not.toBe('none');
    // Removing zero-λ blocks and folding the others into BN changes no logit: "Pruned" = the searched net's top-1.
    expect(row.acc_before_finetune).toBe(row.acc_baseline);
    expect(row.acc_baseline_plain).toBeGreaterThanOrEqual(0);
  });

  it('with γ = 0 no λ reaches 0 and nothing can be pruned', async () => {
    const error = await runGrid(method, { ...grid, variants: ['resnet20-g0'] }).catch((e: Error) => e);
    expect(String(error)).toMatch(/removes nothing from this model \(no removable block's λ reached 0/);
    const searched = await loadModelDir(path.join(seedDir, 'baseline-sss-g0', 'best'));
    expect([...blockFactors(searched.model, searched.spec as ResNetSpec).values()].every((value) => value > 0)).toBe(true);
  });

  it('on PreResNet-110 (bottlenecks): the zero-λ blocks go, every stage keeps its first, and no logit changes', async () => {
    const [row] = await runGrid(method, { ...grid, variants: ['preresnet110-g4'] });
    const preDir = path.join(runDir, 'smoke', 'fashion-mnist', 'preresnet110-sss', 'seed0');
    const searched = await loadModelDir(path.join(preDir, 'baseline-sss-g4', 'best'));
    const factors = [...blockFactors(searched.model, searched.spec as PreResNetSpec)];
    expect(factors).toHaveLength(36);
    const record = JSON.parse(fs.readFileSync(path.join(preDir, 'preresnet110-g4', 'pruned', 'prune.json'), 'utf8')) as PruneRecord;
    const spec = record.spec as PreResNetSpec;
    // A PreResNet's first block of every stage has a 1×1 conv shortcut: it stays whatever its λ.
    const zeroRemovable = factors.filter(([name, value]) => value === 0 && !/^layer\d\.0$/.test(name)).length;
    expect(zeroRemovable).toBeGreaterThan(0);
    expect(spec.blocks!.reduce((sum, count) => sum + count, 0)).toBe(36 - zeroRemovable);
    expect(spec.blocks!.every((count) => count >= 1)).toBe(true);
    expect(spec.blockScales).toBeUndefined();
    expect(row.acc_before_finetune).toBe(row.acc_baseline);
    expect(row.acc_scratch_b).toBeGreaterThanOrEqual(0);
  });
});
