import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { activeBackend, initBackend, shutdownBackend } from '../backend';
import { TrainingElsewhereError } from '../errors';
import { channelGroups } from '../pruning/graph';
import { saveModelDir } from '../model-io';
import { buildModel, namedSpec } from '../spec';
import { narrowSpec } from '../widths';
import { randomArray, seededRandom } from '../test-util/naive-conv';
import { runMethodCli, USAGE_EXIT_CODE } from './cli';
import type { MethodDefinition } from './method';
import { NothingPrunedError, pruneModel } from './prune-stage';
import { methodPackageName } from './queue-link';

/** Keeps the first `keep` share of every prunable group; `keep: 1` removes nothing. */
const firstChannels = (keep: number): MethodDefinition<{ base: string }> => ({
  name: 'first-channels',
  command: 'prune-first',
  title: 'keeps the first channels',
  variants: { 'vgg11-x': { base: 'vgg11' } },
  defaultVariants: () => ['vgg11-x'],
  reference: [],
  pruner: {
    kind: 'structured',
    version: '1',
    keepSets: ({ spec }) =>
      Object.fromEntries(
        channelGroups(spec)
          .filter((g) => g.specIndex >= 0)
          .map((g) => [g.id, Array.from({ length: Math.ceil(g.size * keep) }, (_, c) => c)]),
      ),
  },
});

/** Collects what the CLI prints; `restore()` puts the streams back. */
function capture(): { err: () => string; out: () => string; restore: () => void } {
  const printed = { err: '', out: '' };
  const err = vi.spyOn(process.stderr, 'write').mockImplementation((text) => {
    printed.err += String(text);
    return true;
  });
  const out = vi.spyOn(process.stdout, 'write').mockImplementation((text) => {
    printed.out += String(text);
    return true;
  });
  return {
    err: () => printed.err,
    out: () => printed.out,
    restore: () => {
      err.mockRestore();
      out.mockRestore();
    },
  };
}

describe('the shared method CLI', () => {
  it.each([
    [['reproduce', '--profile', 'fast'], /unknown profile 'fast'/],
    [['reproduce', '--dataset', 'svhn'], /unknown dataset 'svhn'/],
    [['reproduce', '--seeds', '0'], /--seeds 0: give a whole number/],
    [['reproduce', '--seeds', '2.5'], /--seeds 2.5/],
    [['reproduce', '--seed', '1.5'], /--seed 1.5: give a whole number ≥ 0/],
    [['reproduce', '--queue', 'redis://h:1', '--seed', '1'], /--seed cannot go with --queue/],
    [['reproduce', '--models', 'vgg99-Z'], /unknown first-channels variant 'vgg99-Z'; known: vgg11-x/],
    [['reproduce', '--dataset', 'imagenet'], /vgg11-x is a CIFAR-size experiment/],
    [['reproduce', '--stage', 'polish'], /unknown stage 'polish'/],
    [['reproduce', '--backend', 'tpu'], /unknown backend 'tpu'/],
    [['reproduce', '--no-such-flag'], /Unknown option '--no-such-flag'/],
    [['prune', '--model', 'x'], /prune needs --model <dir>, --out <dir> and --variant <name>$/m],
    [
      ['prune', '--model', '/no/such/dir', '--variant', 'vgg11-x', '--out', '/tmp/o'],
      /--model \/no\/such\/dir: no such directory/,
    ],
    [['polish'], /unknown command 'polish'/],
    [['reproduce', '--queue', 'redis://h:1', '--stage', 'prune'], /--stage cannot go with --queue/],
    [['reproduce', '--queue', 'redis://h:1', '--attempts', '0'], /--attempts 0: give a whole number ≥ 1/],
    [['reproduce', '--finetune-epochs', '2.5'], /--finetune-epochs 2.5: give a whole number ≥ 1/],
    [['reproduce', '--lr', '0'], /--lr 0: give a positive number/],
    [['reproduce', '--width-divisor', 'four'], /--width-divisor four: give a whole number ≥ 1/],
    [['reproduce', '--dataset', 'imagenet', '--epochs', '3'], /--epochs: ImageNet runs take their epochs/],
    [['reproduce', '--profile-file', '/no/such.json'], /--profile-file \/no\/such.json: no such file/],
    [['reproduce', '--if-training-elsewhere', 'later'], /--if-training-elsewhere later: give wait or exit/],
    [['reproduce', '--if-training-elsewhere', 'exit'], /--if-training-elsewhere goes with --reuse-from/],
    [['evaluate'], /evaluate needs --model <dir>/],
    [['evaluate', '--model', '/no/such/dir'], /--model \/no\/such\/dir: no such directory/],
    [['evaluate', '--model', os.tmpdir(), '--refresh-bn', '0'], /--refresh-bn 0: give a whole number ≥ 1/],
    [['evaluate', '--model', os.tmpdir(), '--test-limit', 'all'], /--test-limit all: give a whole number ≥ 1/],
  ])('%j is a usage error (exit 2) found before the backend starts', async (argv, message) => {
    const io = capture();
    const code = await runMethodCli(firstChannels(0.5), argv as string[]);
    io.restore();
    expect(code).toBe(USAGE_EXIT_CODE);
    expect(io.err()).toMatch(message);
    expect(io.err()).toContain("Run 'prune-first --help' for usage.");
    expect(activeBackend()).toBeUndefined();
  });

  it('a stage another process trains now (--if-training-elsewhere exit) ends the command with exit 75, said why', async () => {
    const method = { ...firstChannels(0.5), commands: { hold: { usage: 'hold', run: async () => {
      throw new TrainingElsewhereError('first-channels vgg11 seed0 baseline', { pid: 4242, dir: '/runs/l1/baseline' });
    } } } };
    const io = capture();
    const code = await runMethodCli(method, ['hold']);
    io.restore();
    expect(code).toBe(75);
    expect(io.err()).toContain('first-channels vgg11 seed0 baseline: process 4242 is training the same now (/runs/l1/baseline)');
    expect(io.err()).not.toContain('--help');
  });

  it('variants lists each variant with its base model and settings, and the defaults per profile', async () => {
    const io = capture();
    const code = await runMethodCli(firstChannels(0.5), ['variants']);
    io.restore();
    expect(code).toBe(0);
    expect(io.out()).toMatch(/^vgg11-x +base vgg11 +\{\}$/m);
    expect(io.out()).toContain('quick: vgg11-x');
  });

  it('--help lists the commands and options, exit 0', async () => {
    const io = capture();
    const code = await runMethodCli(firstChannels(0.5), ['--help']);
    io.restore();
    expect(code).toBe(0);
    for (const word of ['reproduce', 'prune --model', 'variants', '--seeds N', '--fresh', '--stage', '--epochs N'])
      expect(io.out()).toContain(word);
    // The second line says which paper table the method's reference.json quotes (none for this toy).
    expect(io.out().split('\n')[1]).toBe('No paper numbers in its reference.json.');
    const withTables = { ...firstChannels(0.5), reference: [{ table: 'Table 4' }, { table: 'He et al. 2018, Table 1' }] };
    const io2 = capture();
    await runMethodCli(withTables as unknown as MethodDefinition<{ base: string }>, ['--help']);
    io2.restore();
    expect(io2.out().split('\n').slice(1, 3)).toEqual([
      'Reproduces Table 4 of Liu et al., "Rethinking the Value of Network Pruning" (ICLR 2019).',
      'Reference numbers from He et al. 2018, Table 1.',
    ]);
  });
});

describe('the method package a queue worker imports', () => {
  it('is the definition\'s package, else the package.json above the running command', () => {
    expect(methodPackageName({ ...firstChannels(0.5), package: '@x/first' }, '/nowhere')).toBe('@x/first');
    const root = fs.mkdtempSync(path.join(os.tmpdir(), 'pkg-'));
    fs.mkdirSync(path.join(root, 'dist'));
    fs.writeFileSync(path.join(root, 'package.json'), JSON.stringify({ name: '@x/from-bin' }));
    fs.writeFileSync(path.join(root, 'dist', 'cli.js'), '');
    // npm's bin folder holds a link to the package's script.
    fs.mkdirSync(path.join(root, 'bin'));
    fs.symlinkSync(path.join(root, 'dist', 'cli.js'), path.join(root, 'bin', 'prune-first'));
    expect(methodPackageName(firstChannels(0.5), path.join(root, 'bin', 'prune-first'))).toBe('@x/from-bin');
  });
});

describe('evaluating a saved model directory', () => {
  beforeAll(async () => {
    await initBackend('wasm');
  });
  afterAll(() => shutdownBackend());

  it('prints its test accuracy as saved and after refreshing BN, and leaves the directory as it was', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cli-evaluate-'));
    const spec = narrowSpec(namedSpec('vgg11', 'mnist'), 8);
    const model = buildModel(spec, 1);
    // Stale statistics (every BN's moving mean at 1) and a classifier that does not start at zero.
    const rand = seededRandom(3);
    for (const layer of model.layers) {
      const weights = layer.getWeights();
      if (layer.getClassName() === 'BatchNormalization') {
        layer.setWeights(weights.map((w, i) => (i === 2 ? tf.fill(w.shape, 1) : w)));
      } else if (layer.getClassName() === 'Dense') {
        layer.setWeights(weights.map((w) => tf.tensor(randomArray(rand, w.size), w.shape)));
      }
    }
    await saveModelDir(dir, model, spec);
    model.dispose();
    const before = fs.readdirSync(dir).map((file) => fs.readFileSync(path.join(dir, file)));
    const io = capture();
    const code = await runMethodCli(firstChannels(0.5), ['evaluate', '--model', dir, '--refresh-bn', '4',
      '--test-limit', '48', '--backend', 'wasm']);
    io.restore();
    expect(code).toBe(0);
    const lines = io.out().trim().split('\n');
    expect(lines[0]).toBe(`${dir} on mnist`);
    expect(lines[1]).toMatch(/^as saved: top-1 \d+\.\d\d%, top-5 \d+\.\d\d%, loss \d+\.\d{4} \(48 test images\)$/);
    expect(lines[2]).toMatch(/^after 4 training-mode batches \(BN statistics refreshed, weights unchanged\): top-1 .* \(48 test images\)$/);
    // Refreshed statistics are nearer the batches' than 1: the loss moves.
    const loss = (line: string) => Number(/loss (\S+)/.exec(line)![1]);
    expect(loss(lines[2])).not.toBe(loss(lines[1]));
    expect(fs.readdirSync(dir).map((file) => fs.readFileSync(path.join(dir, file)))).toEqual(before);
  });
});

describe('pruning a trained model directory', () => {
  beforeAll(async () => {
    await initBackend('cpu');
  });
  afterAll(() => shutdownBackend());

  it('prunes through the CLI and refuses a prune that removes nothing', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cli-prune-'));
    const spec = namedSpec('vgg11', 'mnist');
    const model = buildModel(spec, 1);
    await saveModelDir(path.join(dir, 'trained'), model, spec);
    const io = capture();
    const code = await runMethodCli(firstChannels(0.5), [
      'prune',
      '--model',
      path.join(dir, 'trained'),
      '--variant',
      'vgg11-x',
      '--out',
      path.join(dir, 'pruned'),
      '--backend',
      'cpu',
    ]);
    io.restore();
    expect(code).toBe(0);
    expect(JSON.parse(fs.readFileSync(path.join(dir, 'pruned', 'spec.json'), 'utf8')).cfg[0]).toBe(32);
    await expect(pruneModel(firstChannels(1), 'vgg11-x', model, spec, spec)).rejects.toThrow(NothingPrunedError);
    model.dispose();
  });
});
