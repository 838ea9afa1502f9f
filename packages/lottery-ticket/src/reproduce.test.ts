import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { parse } from 'csv-parse/sync';
import {
  initBackend, loadModelDir, PROFILES, runGrid, shutdownBackend, StaleStageError, type GridOptions,
} from '@rethink-prune/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { lotteryMethod } from './method';
import { TICKET_VARIANTS } from './variants';
import { sharedTestDataDir } from '@rethink-prune/datasets';

beforeAll(async () => { await initBackend('wasm'); });
afterAll(() => shutdownBackend());

/**
 * The smoke profile's ÷8 VGG-16s on 32×32×1 Fashion-MNIST, by hand. Convs 1→8, 8→8, 8→16, 16→16, 16→32, 32→32 ×2,
 * 32→64, 64→64 ×5, 3×3: 72 + 576 + 1 152 + 2 304 + 4 608 + 2 · 9 216 + 18 432 + 5 · 36 864 = 229 896 weights.
 */
const CONV_WEIGHTS = 229896;
/** VGG-16-A scaled ÷8 keeps 4 of conv 0's 8 filters and 32 of the 64 of convs 7–12: 36 + 9 216 + 5 · 18 432 zeroed. */
const VGG16A_ZEROED = 36 + 9216 + 5 * 18432;
/** Iterative rounds at 20%: int(0.2 · n) + 1 weights go each round (t itself goes): 229 896 → 183 916 → 147 132. */
const ITERATIVE_KEPT = [183916, 147132];

type Row = Record<string, string>;

describe('lottery-ticket reproduce (smoke profile, real Fashion-MNIST images)', () => {
  const runDir = fs.mkdtempSync(path.join(os.tmpdir(), 'lottery-'));
  const dataDir = sharedTestDataDir();
  // What `lottery-ticket reproduce --profile smoke --models … --rounds 2` asks for (the CLI shuts wasm down on exit).
  const grid: GridOptions = {
    profile: PROFILES.smoke, dataset: 'fashion-mnist', dataDir, runDir, seeds: 1, lrs: [0.1, 0.01], rounds: 2,
    variants: ['vgg16-iterative', 'vgg16-A', 'vgg16-A-compact'], fresh: false,
  };
  const runTicketGrid = (o: GridOptions) => runGrid(lotteryMethod, o);
  const csvFile = path.join(runDir, 'smoke', 'results-fashion-mnist.csv');
  const readRows = () => parse(fs.readFileSync(csvFile, 'utf8'), { columns: true }) as Row[];

  it('writes one row per (variant, LR, round) with both inits and the sparsities the rounds must reach, and the chart', async () => {
    await runTicketGrid(grid);
    const rows = readRows();
    // Iterative: 2 rounds; VGG-16-A in both forms: 1 round each; all at the LRs 0.1 and 0.01.
    expect(rows).toHaveLength((2 + 1 + 1) * 2);
    const keys = rows.map((r) => [r.variant, r.lr, r.round].join(' '));
    expect(new Set(keys).size).toBe(rows.length);
    expect([...new Set(rows.map((r) => r.lr))]).toEqual(['0.1', '0.01']);
    // The winning ticket is Scratch-E from the saved init, the random init Scratch-E from a fresh one; nothing else trains.
    for (const row of rows) {
      for (const column of ['acc_scratch_e_saved_init', 'acc_scratch_e']) {
        expect(Number(row[column])).toBeGreaterThanOrEqual(0);
        expect(Number(row[column])).toBeLessThanOrEqual(100);
      }
      expect([row.acc_finetuned, row.acc_scratch_b, row.acc_scratch_b_saved_init]).toEqual(['', '', '']);
    }

    const sparsity = (variant: string, round: string) =>
      [...new Set(rows.filter((r) => r.variant === variant && r.round === round).map((r) => Number(r.sparsity_pct)))];
    expect(sparsity('vgg16-iterative', '1')).toEqual([Math.round(10000 * (1 - ITERATIVE_KEPT[0] / CONV_WEIGHTS)) / 100]);
    expect(sparsity('vgg16-iterative', '2')).toEqual([Math.round(10000 * (1 - ITERATIVE_KEPT[1] / CONV_WEIGHTS)) / 100]);
    expect(sparsity('vgg16-A', '1')).toEqual([Math.round(10000 * VGG16A_ZEROED / CONV_WEIGHTS) / 100]);
    // A compact ticket has no masks: its pruned filters are gone, not zero.
    expect(rows.filter((r) => r.variant === 'vgg16-A-compact').map((r) => r.sparsity_pct)).toEqual(['', '']);
    const params = (variant: string) => Number(rows.find((r) => r.variant === variant)!.pruned_params);
    expect(params('vgg16-A-compact')).toBeLessThan(params('vgg16-A'));
    const svg = fs.readFileSync(path.join(runDir, 'smoke', 'results-fashion-mnist-tickets.svg'), 'utf8');
    expect(svg).toMatch(/^<svg/);
    expect(svg).toContain('vgg16-iterative (unstructured, iterative)');
    const table = fs.readFileSync(path.join(runDir, 'smoke', 'results-fashion-mnist-tickets.md'), 'utf8');
    expect(table).toMatch(/^\| vgg16-A \| 0\.01 \| 1 \| 44\.11 \| \d+\.\d\d \| \d+\.\d\d \| [+-]\d+\.\d\d \| \d+\.\d\d \|$/m);
  });

  it('keeps the masks of every round nested, with exactly the weights the rounds must keep', async () => {
    const lrDir = path.join(runDir, 'smoke', 'fashion-mnist', 'vgg16-wl', 'seed0', 'lr0.1', 'vgg16-iterative');
    const rounds = await Promise.all(['round1', 'round2'].map((round) => loadModelDir(path.join(lrDir, round, 'pruned'))));
    const masks = rounds.map((loaded) => loaded.masks!);
    const kept = masks.map((set) => [...set.values()].reduce((sum, mask) => sum + mask.sum().dataSync()[0], 0));
    expect(kept).toEqual(ITERATIVE_KEPT);
    for (const [name, first] of masks[0]) {
      const [before, after] = [first.dataSync(), masks[1].get(name)!.dataSync()];
      expect(before.every((value, i) => value === 1 || after[i] === 0), name).toBe(true);
    }
    // Round 2 prunes round 1's trained ticket: its pruned model holds that ticket's weights, masked.
    const ticket = await loadModelDir(path.join(lrDir, 'round1', 'scratch-e-saved-init', 'best'));
    const name = 'features.12.conv/kernel';
    const [trained, pruned] = [ticket, rounds[1]].map((loaded) =>
      loaded.model.layers.find((layer) => layer.name === 'features.12.conv')!.getWeights()[0].dataSync());
    const mask = masks[1].get(name)!.dataSync();
    // + 0: a masked negative weight is -0, which toEqual tells from 0
    expect(Array.from(pruned, (value) => value + 0)).toEqual(Array.from(trained, (value, i) => (mask[i] === 1 ? value : 0)));
  });

  it('reuses every finished stage on a rerun, and stops on a changed rule without touching the results', async () => {
    const before = fs.readFileSync(csvFile, 'utf8');
    const results = () => fs.readdirSync(runDir, { recursive: true, encoding: 'utf8' })
      .filter((file) => path.basename(file) === 'result.json' || path.basename(file) === 'prune.json').sort()
      .map((file) => `${file} ${fs.statSync(path.join(runDir, file)).mtimeMs}`);
    const finished = results();
    // 4 baselines (2 models × 2 LRs), 16 trainings and 8 prunes.
    expect(finished).toHaveLength(4 + 16 + 8);
    await runTicketGrid(grid);
    expect(results()).toEqual(finished);
    expect(fs.readFileSync(csvFile, 'utf8')).toBe(before);
    // Another rate: the variant's settings are in each round's prune key.
    const variants = { ...TICKET_VARIANTS, 'vgg16-iterative': { ...TICKET_VARIANTS['vgg16-iterative'], rate: 0.3 } };
    const changed = runGrid({ ...lotteryMethod, variants }, { ...grid, variants: ['vgg16-iterative'] });
    await expect(changed).rejects.toThrow(StaleStageError);
    await expect(changed).rejects.toThrow(/round1[/\\]pruned holds a finished stage produced with a different settings/);
    expect(fs.readFileSync(csvFile, 'utf8')).toBe(before);
  });
});

/** A smoke grid of `variants` at LR 0.1 in fresh folders, as `lottery-ticket reproduce` runs it; its result rows. */
async function smokeTicketRows(variants: string[], rounds: number): Promise<Row[]> {
  const runDir = fs.mkdtempSync(path.join(os.tmpdir(), 'lottery-smoke-'));
  const dataDir = sharedTestDataDir();
  await runGrid(lotteryMethod, {
    profile: PROFILES.smoke, dataset: 'fashion-mnist', dataDir, runDir, seeds: 1, lrs: [0.1], rounds, variants, fresh: false,
  });
  return parse(fs.readFileSync(path.join(runDir, 'smoke', 'results-fashion-mnist.csv'), 'utf8'), { columns: true }) as Row[];
}

describe('structured iterative tickets (vgg16-A-iterative, smoke profile)', () => {
  it('two rounds: the first part of the way to VGG-16-A, the second exactly VGG-16-A\'s zeros', async () => {
    const rows = await smokeTicketRows(['vgg16-A-iterative'], 2);
    const sparsity = rows.map((r) => Number(r.sparsity_pct));
    expect(rows.map((r) => r.round)).toEqual(['1', '2']);
    expect(sparsity[1]).toBe(Math.round(10000 * VGG16A_ZEROED / CONV_WEIGHTS) / 100);
    expect(sparsity[0]).toBeGreaterThan(0);
    expect(sparsity[0]).toBeLessThan(sparsity[1]);
    for (const row of rows) expect(Number(row.acc_scratch_e_saved_init)).toBeGreaterThanOrEqual(0);
  }, 300_000);
});

describe('lottery-ticket reproduce on the lottery folder\'s own ResNets (smoke profile)', () => {
  it('the unstructured ResNet-50 and PreResNet-110 tickets: one round at 20% of the weights, both inits trained', async () => {
    const rows = await smokeTicketRows(['resnet50-iterative', 'preresnet110-iterative'], 1);
    expect(rows.map((r) => [r.variant, r.model])).toEqual([['resnet50-iterative', 'resnet50-lottery'],
      ['preresnet110-iterative', 'preresnet110-lottery']]);
    for (const row of rows) {
      // int(0.2 · n) + 1 of the n prunable weights: 20% to two decimals for any n in the hundreds of thousands
      expect(Number(row.sparsity_pct), row.variant).toBeCloseTo(20, 2);
      for (const column of ['acc_scratch_e_saved_init', 'acc_scratch_e']) {
        expect(Number(row[column]), `${row.variant} ${column}`).toBeGreaterThanOrEqual(0);
        expect(Number(row[column])).toBeLessThanOrEqual(100);
      }
    }
  }, 300_000);
});
