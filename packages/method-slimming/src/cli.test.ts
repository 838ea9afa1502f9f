import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs';
import {
  buildModel, countSpec, initBackend, loadModelDir, namedSpec, namedWeights, narrowSpec, runMethodCli, saveModelDir,
  shutdownBackend, USAGE_EXIT_CODE, type ArchSpec,
} from '@rethink-prune/core';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { slimmingMethod } from './method';

beforeAll(async () => { await initBackend('cpu'); });
afterAll(() => shutdownBackend());

/** Runs the CLI and returns its exit code and what it printed. */
async function cli(argv: string[]): Promise<{ code: number; out: string; err: string }> {
  const printed = { out: '', err: '' };
  const out = vi.spyOn(process.stdout, 'write').mockImplementation((t) => { printed.out += String(t); return true; });
  const err = vi.spyOn(process.stderr, 'write').mockImplementation((t) => { printed.err += String(t); return true; });
  try {
    return { code: await runMethodCli(slimmingMethod, argv), ...printed };
  } finally {
    out.mockRestore();
    err.mockRestore();
  }
}

/** A saved model directory of `spec` whose BN scales differ from layer to layer. */
async function savedModel(spec: ArchSpec): Promise<string> {
  await initBackend('cpu');
  const model = buildModel(spec, 3);
  let k = 0;
  for (const [name, variable] of namedWeights(model)) {
    if (!name.endsWith('/gamma')) continue;
    const n = variable.shape[0]!;
    variable.write(tf.tensor1d(Array.from({ length: n }, (_, c) => ((c * 7 + k++) % 13) / 13 + 0.01)));
  }
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'slim-model-'));
  await saveModelDir(dir, model, spec);
  model.dispose();
  return dir;
}

describe('prune-slimming prune --percent', () => {
  it('prunes any saved model with BN after its convs, printing widths per layer and the reductions', async () => {
    const spec = narrowSpec(namedSpec('vgg19-slimming'), 8);
    const dir = await savedModel(spec);
    const out = path.join(dir, 'pruned');
    const run = await cli(['prune', '--model', dir, '--percent', '0.5', '--out', out, '--backend', 'cpu']);
    expect(run.code).toBe(0);
    expect(run.out).toMatch(/features\.0\.conv +8 → +\d+/);
    expect(run.out).toMatch(/total +688 → +\d+/);
    expect(run.out).toMatch(/--percent 0\.5: params \d+ → \d+ \(\d+\.\d% fewer\), FLOPs \d+ → \d+ \(\d+\.\d% fewer\)/);
    await initBackend('cpu');
    const pruned = await loadModelDir(out);
    const kept = (pruned.spec as { cfg: Array<number | 'M'> }).cfg.filter((v): v is number => v !== 'M');
    // At least int(688 · 0.5) + 1 channels go (ties with the threshold go too).
    expect(kept.reduce((a, b) => a + b, 0)).toBeLessThanOrEqual(688 - 345);
    expect(countSpec(pruned.spec).flops).toBeLessThan(countSpec(spec).flops);
    pruned.model.dispose();
  });

  it.each([
    [['--percent', '1.5'], /--percent 1\.5: give the share of BN channels to prune, between 0 and 1/],
    [['--percent', 'half'], /--percent half/],
    [['--percent', '0.5', '--variant', 'vgg19-70'], /--variant <name> or --percent <p> \(one of the two\)/],
    [[], /--variant <name> or --percent <p>/],
  ])('%j is a usage error (exit 2) that touches nothing', async (extra, message) => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'slim-usage-'));
    const run = await cli(['prune', '--model', dir, '--out', path.join(dir, 'out'), ...extra]);
    expect(run.code).toBe(USAGE_EXIT_CODE);
    expect(run.err).toMatch(message);
    expect(fs.readdirSync(dir)).toEqual([]);
  });

  it('a model without BN after its convs fails with a message naming them, and writes nothing', async () => {
    const spec = narrowSpec({ ...namedSpec('vgg11-imagenet'), batchNorm: false } as ArchSpec, 16);
    const dir = await savedModel(spec);
    const run = await cli(['prune', '--model', dir, '--percent', '0.5', '--out', path.join(dir, 'out'), '--backend', 'cpu']);
    expect(run.code).toBe(1);
    expect(run.err).toMatch(/Network Slimming prunes by BN scales, but features\.0\.conv.* have no BN after them/);
    expect(fs.existsSync(path.join(dir, 'out'))).toBe(false);
  });

  it('--help shows the --percent form', async () => {
    const run = await cli(['--help']);
    expect(run.code).toBe(0);
    expect(run.out).toMatch(/prune-slimming prune --model <dir> --percent <p> --out <dir>/);
  });
});
