import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { initBackend, shutdownBackend } from '../backend';
import { channelGroups } from '../pruning/graph';
import { mulberry32 } from '../data/rng';
import { PROFILES, withOverrides } from '../profiles';
import { countSpec } from '../pruning/counting';
import { namedSpec, type ArchSpec } from '../spec';
import { narrowSpec } from '../widths';
import { RESULT_COLUMNS } from '../results';
import type { KeepSets } from '../pruning/surgery';
import { runGrid } from './grid';
import type { MethodDefinition } from './method';
import { StaleStageError, TrainingElsewhereError } from '../errors';
import { sharedTestDataDir } from '@rethink-prune/datasets';

// ---- A whole method package in a few lines: random channel pruning of VGG-11. ----
interface RandomVariant {
  base: string;
  keepFraction: number;
  architecture?: ArchSpec;
}

function randomKeepSets(
  groups: Array<{ id: string; size: number; specIndex: number }>,
  fraction: number,
  seed: number,
): KeepSets {
  const random = mulberry32(seed);
  const keep: KeepSets = {};
  for (const g of groups.filter((group) => group.specIndex >= 0)) {
    const order = Array.from({ length: g.size }, (_, c) => c).sort(() => random() - 0.5);
    keep[g.id] = order.slice(0, Math.max(1, Math.round(g.size * fraction))).sort((a, b) => a - b);
  }
  return keep;
}

const randomMethod = (version: string): MethodDefinition<RandomVariant> => ({
  name: 'random-channels',
  command: 'prune-random',
  title: 'random channel pruning (a control)',
  variants: {
    'vgg11-half': { base: 'vgg11', keepFraction: 0.5 },
    // A published architecture: VGG-11 with every conv at a quarter width, trained from scratch only.
    'vgg11-quarter-arch': { base: 'vgg11', keepFraction: 0.25,
      architecture: { ...namedSpec('vgg11'), cfg: [16, 'M', 32, 'M', 64, 64, 'M', 128, 128, 'M', 128, 128] } as ArchSpec },
  },
  defaultVariants: () => ['vgg11-half'],
  pruner: {
    kind: 'structured',
    version,
    keepSets: ({ spec, variant }) => randomKeepSets(channelGroups(spec), variant.keepFraction, 7),
  },
  reference: [
    {
      table: 'none',
      row: 'a control',
      dataset: 'fashion-mnist',
      model: 'vgg11',
      variant: 'vgg11-half',
      baseline: null,
      finetuned: null,
      scratchE: null,
      scratchB: null,
    },
  ],
});
// ---- end of the method ----

beforeAll(async () => {
  await initBackend('wasm');
});
afterAll(() => shutdownBackend());

describe('a toy method through the framework (smoke profile, real Fashion-MNIST)', () => {
  const runDir = fs.mkdtempSync(path.join(os.tmpdir(), 'toy-method-'));
  const dataDir = sharedTestDataDir();
  const grid = {
    profile: PROFILES.smoke,
    dataset: 'fashion-mnist' as const,
    dataDir,
    variants: ['vgg11-half'],
    seeds: 2,
    runDir,
  };

  it('runs every stage for two seeds and writes run rows, mean and std rows, and a mean ± std table', async () => {
    const rows = await runGrid(randomMethod('1'), grid);
    expect(rows.map((r) => [r.variant, r.seed, r.row_kind])).toEqual([
      ['vgg11-half', 0, 'run'],
      ['vgg11-half', 1, 'run'],
    ]);
    // Half of every conv's filters: about three quarters of the conv FLOPs go.
    expect(rows[0].flops_reduction_pct as number).toBeGreaterThan(60);
    expect(rows[0].epochs_scratch_b as number).toBeGreaterThanOrEqual(3);
    // Scratch-E's one epoch is Scratch-B's first (the same init, data order and LR): Scratch-B started from the state
    // Scratch-E kept after it (its first metrics line is Scratch-E's) and trained the rest.
    const variantDir = path.join(runDir, 'smoke', 'fashion-mnist', 'vgg11', 'seed0', 'vgg11-half');
    const stageFile = (stage: string, file: string) => fs.readFileSync(path.join(variantDir, stage, file), 'utf8');
    expect(JSON.parse(stageFile('scratch-b', 'result.json')).sharedStart)
      .toMatchObject({ from: path.join(variantDir, 'scratch-e'), epochs: 1 });
    expect(stageFile('scratch-b', 'metrics.jsonl').split('\n')[0]).toBe(stageFile('scratch-e', 'metrics.jsonl').split('\n')[0]);
    expect(stageFile('scratch-b', 'metrics.jsonl').trim().split('\n')).toHaveLength(rows[0].epochs_scratch_b as number);
    // The variant's seconds count Scratch-E's first epoch once (in Scratch-E), not again in Scratch-B.
    const [finetune, scratchE, scratchB] = ['finetune', 'scratch-e', 'scratch-b']
      .map((stage) => JSON.parse(stageFile(stage, 'result.json')));
    expect(scratchB.sharedStart.trainSeconds).toBeGreaterThan(0);
    expect(rows[0].train_seconds).toBe(Math.round(finetune.trainSeconds + scratchE.trainSeconds + scratchB.trainSeconds -
      scratchB.sharedStart.trainSeconds));
    const csv = fs
      .readFileSync(path.join(runDir, 'smoke', 'results-fashion-mnist.csv'), 'utf8')
      .trim()
      .split('\n');
    expect(csv[0]).toBe(RESULT_COLUMNS.join(','));
    expect(csv.slice(1).map((line) => line.split(',')[0])).toEqual(['run', 'run', 'mean', 'std']);
    const mean = csv[3].split(',');
    const accuracies = rows.map((r) => r.acc_scratch_e as number);
    const column = RESULT_COLUMNS.indexOf('acc_scratch_e');
    expect(Number(mean[column])).toBeCloseTo((accuracies[0] + accuracies[1]) / 2, 1);
    const table = fs.readFileSync(path.join(runDir, 'smoke', 'results-fashion-mnist.md'), 'utf8');
    expect(table).toMatch(/\| vgg11-half \| smoke \| 0, 1 \|.* ± /);
    // Each seed trained its own baseline, and kept its initial weights.
    for (const seed of [0, 1]) {
      expect(
        fs.existsSync(
          path.join(
            runDir,
            'smoke',
            'fashion-mnist',
            'vgg11',
            `seed${seed}`,
            'baseline',
            'init',
            'weights.bin',
          ),
        ),
      ).toBe(true);
    }
  });

  it('refuses finished stages of another pruner version, naming the field and the directory; --fresh redoes them', async () => {
    const prunedDir = path.join(runDir, 'smoke', 'fashion-mnist', 'vgg11', 'seed0', 'vgg11-half', 'pruned');
    const error = await runGrid(randomMethod('2'), grid).catch((e) => e);
    expect(error).toBeInstanceOf(StaleStageError);
    expect(error.message).toContain(prunedDir);
    expect(error.field).toBe('pruner');
    const baselineResult = path.join(
      runDir,
      'smoke',
      'fashion-mnist',
      'vgg11',
      'seed0',
      'baseline',
      'result.json',
    );
    const baselineWritten = fs.statSync(baselineResult).mtimeMs;
    const finetuneResult = path.join(prunedDir, '..', 'finetune', 'result.json');
    const finetuneWritten = fs.statSync(finetuneResult).mtimeMs;
    const rows = await runGrid(randomMethod('2'), { ...grid, fresh: true });
    expect(rows).toHaveLength(2);
    expect(fs.statSync(baselineResult).mtimeMs).toBe(baselineWritten); // its key still matches: reused
    expect(fs.statSync(finetuneResult).mtimeMs).toBeGreaterThan(finetuneWritten); // it followed the stale prune
    const record = JSON.parse(fs.readFileSync(path.join(prunedDir, 'prune.json'), 'utf8'));
    expect(record.identity.pruner).toBe('structured 2');
    // its wall seconds, for the cost of a study (a toy prune takes well under a minute)
    expect(record.seconds).toBeGreaterThanOrEqual(0);
    expect(record.seconds).toBeLessThan(60);
  });

  it.each([
    [{ epochs: 2 }, 'baseline', 'recipe'],
    [{ trainLimit: 80 }, 'baseline', 'data'],
    [{ widthDivisor: 4 }, 'baseline', 'spec'],
    [{ finetuneEpochs: 2 }, 'vgg11-half/finetune', 'recipe'],
  ])('a profile field changed by the user (%j) makes the stages it touches stale, never reused', async (fields, stage, field) => {
    const changed = { ...grid, seeds: 1, profile: withOverrides(PROFILES.smoke, fields) };
    const error = await runGrid(randomMethod('2'), changed).catch((e) => e);
    expect(error).toBeInstanceOf(StaleStageError);
    expect(error.dir).toBe(path.join(runDir, 'smoke', 'fashion-mnist', 'vgg11', 'seed0', stage));
    expect(error.field).toBe(field);
  });

  it('two methods asking for the same baseline at once: one trains it, the other waits and copies it', async () => {
    const root = fs.mkdtempSync(path.join(os.tmpdir(), 'toy-claims-'));
    const [first, second] = ['a', 'b'].map((m) => ({ ...randomMethod('3'), name: `random-${m}` }));
    const dirs = [path.join(root, 'a'), path.join(root, 'b')];
    const said: string[] = [];
    const err = vi.spyOn(process.stderr, 'write').mockImplementation((text) => { said.push(String(text)); return true; });
    try {
      await Promise.all([first, second].map((method, i) =>
        runGrid(method, { ...grid, seeds: 1, runDir: dirs[i], reuseFrom: [root], stage: 'baseline' })));
    } finally {
      err.mockRestore();
    }
    const baselines = dirs.map((d) => path.join(d, 'smoke', 'fashion-mnist', 'vgg11', 'seed0', 'baseline'));
    const results = baselines.map((b) => JSON.parse(fs.readFileSync(path.join(b, 'result.json'), 'utf8')));
    expect(results.map((r) => r.reusedFrom === undefined).sort()).toEqual([false, true]); // one trained, one copied
    expect(said.filter((line) => /waiting for process \d+, which is training the same/.test(line))).toHaveLength(1);
    const [a, b] = baselines.map((d) => fs.readFileSync(path.join(d, 'best', 'weights.bin')));
    expect(a).toEqual(b);
    expect(fs.readdirSync(path.join(root, '.training-claims'))).toEqual([]); // both released
  });

  it('told not to wait (ifTrainingElsewhere: exit), a run whose baseline another run trains now stops, naming it', async () => {
    const root = fs.mkdtempSync(path.join(os.tmpdir(), 'toy-claims-'));
    const [first, second] = ['c', 'd'].map((m) => ({ ...randomMethod('4'), name: `random-${m}` }));
    const long = { ...grid, profile: withOverrides(PROFILES.smoke, { epochs: 6 }), seeds: 1, stage: 'baseline' as const,
      reuseFrom: [root] };
    const err = vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
    try {
      const training = runGrid(first, { ...long, runDir: path.join(root, 'c') });
      const claims = path.join(root, '.training-claims');
      while (!fs.existsSync(claims) || fs.readdirSync(claims).length === 0) await new Promise((r) => setTimeout(r, 10));
      const stopped = runGrid(second, { ...long, runDir: path.join(root, 'd'), ifTrainingElsewhere: 'exit' });
      await expect(stopped).rejects.toBeInstanceOf(TrainingElsewhereError);
      await expect(stopped).rejects.toThrow(/random-d vgg11 baseline.*: process \d+ is training the same now/);
      await training;
    } finally {
      err.mockRestore();
    }
    expect(fs.existsSync(path.join(root, 'd', 'smoke', 'fashion-mnist', 'vgg11', 'seed0', 'baseline', 'result.json'))).toBe(false);
  });

  it('with reuseFrom, copies the plain baseline and the scratch runs another method trained, and fine-tunes its own', async () => {
    const otherDir = fs.mkdtempSync(path.join(os.tmpdir(), 'toy-other-'));
    const other = { ...randomMethod('2'), name: 'random-other' };
    const [row] = await runGrid(other, { ...grid, seeds: 1, runDir: otherDir, reuseFrom: [runDir] });
    expect(row.method).toBe('random-other');
    const seedDir = (root: string) => path.join(root, 'smoke', 'fashion-mnist', 'vgg11', 'seed0');
    for (const stage of ['baseline', 'vgg11-half/scratch-e', 'vgg11-half/scratch-b']) {
      const [mine, theirs] = [otherDir, runDir].map((root) => path.join(seedDir(root), stage));
      expect(fs.readFileSync(path.join(mine, 'best', 'weights.bin'))).toEqual(fs.readFileSync(path.join(theirs, 'best', 'weights.bin')));
      const result = JSON.parse(fs.readFileSync(path.join(mine, 'result.json'), 'utf8'));
      expect(result.reusedFrom.method).toBe('random-channels');
      expect(path.resolve(result.reusedFrom.dir)).toBe(path.resolve(theirs));
      expect(result.identity.method).toBe('random-other');
      expect(fs.existsSync(path.join(mine, 'checkpoint'))).toBe(false);
    }
    // The premise: the other method's baseline trained here without reuse is the copied one, byte for byte.
    const trainedDir = fs.mkdtempSync(path.join(os.tmpdir(), 'toy-trained-'));
    await runGrid(other, { ...grid, seeds: 1, runDir: trainedDir, stage: 'baseline' });
    expect(fs.readFileSync(path.join(seedDir(trainedDir), 'baseline', 'best', 'weights.bin')))
      .toEqual(fs.readFileSync(path.join(seedDir(otherDir), 'baseline', 'best', 'weights.bin')));
    // The fine-tune starts from this method's own prune: trained here, not copied.
    const finetune = JSON.parse(fs.readFileSync(path.join(seedDir(otherDir), 'vgg11-half', 'finetune', 'result.json'), 'utf8'));
    expect(finetune.reusedFrom).toBeUndefined();
  });

  it('trains a published architecture from scratch against the baseline, with nothing pruned or fine-tuned', async () => {
    const [row] = await runGrid(randomMethod('2'), { ...grid, seeds: 1, variants: ['vgg11-quarter-arch'] });
    const variantDir = path.join(runDir, 'smoke', 'fashion-mnist', 'vgg11', 'seed0', 'vgg11-quarter-arch');
    expect(fs.readdirSync(variantDir).sort()).toEqual(['latency.json', 'scratch-b', 'scratch-e']);
    expect([row.acc_before_finetune, row.acc_finetuned, row.epochs_finetune]).toEqual([null, null, null]);
    expect(row.acc_scratch_e as number).toBeGreaterThanOrEqual(0);
    // The smoke profile divides widths by 8: the architecture's 16 … 128 become 2 … 16.
    const trained = JSON.parse(fs.readFileSync(path.join(variantDir, 'scratch-e', 'best', 'spec.json'), 'utf8'));
    expect(trained.cfg).toEqual([2, 'M', 4, 'M', 8, 8, 'M', 16, 16, 'M', 16, 16]);
    const architecture = randomMethod('2').variants['vgg11-quarter-arch'].architecture!;
    expect(row.pruned_flops).toBe(countSpec(narrowSpec({ ...architecture, dataset: 'fashion-mnist' }, 8)).flops);
  });
});
