import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import {
  buildModel, initBackend, namedSpec, narrowSpec, runMethodCli, saveModelDir, shutdownBackend,
  USAGE_EXIT_CODE,
} from '@rethink-prune/core';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { weightLevelMethod } from './method';

beforeAll(async () => { await initBackend('cpu'); });
afterAll(() => shutdownBackend());

/** Runs the CLI and returns its exit code and what it printed. */
async function cli(argv: string[]): Promise<{ code: number; out: string; err: string }> {
  const printed = { out: '', err: '' };
  const capture = (stream: 'out' | 'err') => (text: string | Uint8Array) => {
    printed[stream] += String(text);
    return true;
  };
  const out = vi.spyOn(process.stdout, 'write').mockImplementation(capture('out'));
  const err = vi.spyOn(process.stderr, 'write').mockImplementation(capture('err'));
  try {
    return { code: await runMethodCli(weightLevelMethod, argv), ...printed };
  } finally {
    out.mockRestore();
    err.mockRestore();
  }
}

/**
 * The ÷8 weight-level VGG-19 on 32×32×3 (widths 8 8 M 16 16 M 32×4 M 64×4 M 64×4), worked out by hand:
 * conv kernels 216, 576, 1 152, 2 304, 4 608, 9 216 ×3, 18 432, 36 864 ×7 = 312 984 weights; params add
 * 688 conv biases, 2 · 688 BN γβ and the 64·10 + 10 linear layer: 315 698. Each conv's output side: 32, 32,
 * 16, 16, 8 ×4, 4 ×4, 2 ×4.
 */
const CONV_WEIGHTS = [216, 576, 1152, 2304, 4608, 9216, 9216, 9216, 18432, ...Array(7).fill(36864)];
const OUTPUT_POSITIONS = [1024, 1024, 256, 256, 64, 64, 64, 64, 16, 16, 16, 16, 4, 4, 4, 4];
const TOTAL_WEIGHTS = 312984;
const PARAMS = 315698;
/** count_flops.py on the dense model: convs (2·k²·Cin + 1)·Cout·H·W, BN, ReLU, 4 max pools, linear. */
const DENSE_FLOPS = 12996874;
const convName = (i: number) => `features.${i}.conv/kernel`;

/** `  layer  weights  non-zero  sparsity%` lines of the CLI's output, by layer. */
function sparsityRows(text: string): Map<string, { weights: number; nonZero: number; sparsity: number }> {
  const rows = [...text.matchAll(/^ +(\S+) +(\d+) +(\d+) +(\d+\.\d\d)%$/gm)];
  return new Map(rows.map(([, layer, weights, nonZero, sparsity]) =>
    [layer, { weights: Number(weights), nonZero: Number(nonZero), sparsity: Number(sparsity) }]));
}

describe('prune-weight-level prune --percent and sparsity', () => {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'wl-cli-'));
  const modelDir = path.join(root, 'trained');
  const prunedDir = path.join(root, 'pruned');

  beforeAll(async () => {
    const spec = narrowSpec(namedSpec('vgg19-wl'), 8);
    const model = buildModel(spec, 3);
    await saveModelDir(modelDir, model, spec);
    model.dispose();
  });

  it('prunes half of all conv weights: per-layer sparsity, reductions, masks.json beside it', async () => {
    const run = await cli(
      ['prune', '--model', modelDir, '--percent', '0.5', '--out', prunedDir, '--backend', 'cpu']);
    expect(run.code, run.err).toBe(0);
    const rows = sparsityRows(run.out);
    expect([...rows.keys()]).toEqual([...CONV_WEIGHTS.map((_, i) => convName(i)), 'total']);
    CONV_WEIGHTS.forEach((weights, i) => expect(rows.get(convName(i))!.weights).toBe(weights));
    const total = rows.get('total')!;
    expect(total.weights).toBe(TOTAL_WEIGHTS);
    // t is the |w| at index int(312 984 · 0.5) = 156 492: at least 156 493 go (more only on ties with t).
    expect(total.nonZero).toBeLessThanOrEqual(TOTAL_WEIGHTS - 156493);
    expect(total.nonZero).toBeGreaterThan(TOTAL_WEIGHTS - 156493 - 10);
    const nonZero = CONV_WEIGHTS.map((_, i) => rows.get(convName(i))!.nonZero);
    expect(nonZero.reduce((sum, count) => sum + count, 0)).toBe(total.nonZero);
    // Params lose the zeros; a conv's FLOPs lose 2 per zero weight per output position (count_flops.py).
    const zeros = TOTAL_WEIGHTS - total.nonZero;
    const sparseFlops = DENSE_FLOPS - CONV_WEIGHTS.reduce((sum, weights, i) =>
      sum + 2 * (weights - nonZero[i]) * OUTPUT_POSITIONS[i], 0);
    const summary = new RegExp('--percent 0\\.5: params (\\d+) → (\\d+) \\(\\d+\\.\\d% fewer\\), ' +
      'FLOPs (\\d+) → (\\d+) \\(\\d+\\.\\d% fewer\\), (\\d+\\.\\d)% of masked weights zero; saved to (\\S+)')
      .exec(run.out);
    expect(summary, run.out).not.toBeNull();
    const [, paramsBefore, paramsAfter, flopsBefore, flopsAfter, sparsity, savedTo] = summary!;
    expect([paramsBefore, paramsAfter, flopsBefore, flopsAfter].map(Number))
      .toEqual([PARAMS, PARAMS - zeros, DENSE_FLOPS, sparseFlops]);
    expect([sparsity, savedTo]).toEqual(['50.0', prunedDir]);
    const index = JSON.parse(fs.readFileSync(path.join(prunedDir, 'masks.json'), 'utf8')) as
      Record<string, { shape: number[] }>;
    expect(Object.keys(index)).toEqual(CONV_WEIGHTS.map((_, i) => convName(i)));
    expect(index[convName(0)].shape).toEqual([3, 3, 3, 8]);
    const maskBytes = fs.readFileSync(path.join(prunedDir, 'masks.bin'));
    expect(maskBytes.length).toBe(TOTAL_WEIGHTS);
    expect(maskBytes.reduce((sum, byte) => sum + byte, 0)).toBe(total.nonZero);
  });

  it('sparsity --model prints weights / non-zero / sparsity per kernel; the convs are ~50% zero', async () => {
    const run = await cli(['sparsity', '--model', prunedDir, '--backend', 'cpu']);
    expect(run.code, run.err).toBe(0);
    expect(run.out).toContain(`${prunedDir}: 17 kernels (16 of them masked: masks.json)`);
    expect(run.out).toMatch(/^ +layer +weights +non-zero sparsity$/m);
    const rows = sparsityRows(run.out);
    // The linear layer is listed but was never pruned.
    expect(rows.get('classifier/kernel')).toEqual({ weights: 640, nonZero: 640, sparsity: 0 });
    const convRows = CONV_WEIGHTS.map((_, i) => rows.get(convName(i))!);
    expect(convRows.map((row) => row.weights)).toEqual(CONV_WEIGHTS);
    const convNonZero = convRows.reduce((sum, row) => sum + row.nonZero, 0);
    const convSparsity = 100 * (1 - convNonZero / TOTAL_WEIGHTS);
    expect(convSparsity).toBeGreaterThanOrEqual(50);
    expect(convSparsity).toBeLessThan(50.01);
    // The total adds the 640 dense linear weights: (156 491 + 640) / 313 624 non-zero → 49.9% zero.
    const total = rows.get('total')!;
    expect([total.weights, total.nonZero]).toEqual([TOTAL_WEIGHTS + 640, convNonZero + 640]);
    expect(total.sparsity).toBeCloseTo(49.9, 1);
  });

  it('sparsity of the unpruned model: no masks.json, no zeros', async () => {
    const run = await cli(['sparsity', '--model', modelDir, '--backend', 'cpu']);
    expect(run.code, run.err).toBe(0);
    expect(run.out).toContain(`${modelDir}: 17 kernels (no masks.json)`);
    const everyKernel = TOTAL_WEIGHTS + 640;
    expect(sparsityRows(run.out).get('total'))
      .toEqual({ weights: everyKernel, nonZero: everyKernel, sparsity: 0 });
  });

  it.each([
    [['--percent', '1.2'], /--percent 1\.2: give the share of conv weights to prune, between 0 and 1/],
    [['--percent', '0'], /--percent 0: give the share of conv weights to prune/],
    [['--percent', '0.5', '--variant', 'vgg19-80'], /--variant <name> or --percent <p> \(one of the two\)/],
  ])('prune %j is a usage error (exit 2) that writes nothing', async (extra, message) => {
    const out = path.join(root, 'refused');
    const run = await cli(['prune', '--model', modelDir, '--out', out, ...extra]);
    expect(run.code).toBe(USAGE_EXIT_CODE);
    expect(run.err).toMatch(message);
    expect(fs.existsSync(out)).toBe(false);
  });
});
