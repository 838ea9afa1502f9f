import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import {
  buildModel, initBackend, loadModelDir, namedWeights, runMethodCli, saveModelDir, shutdownBackend, USAGE_EXIT_CODE,
  type ArchSpec,
} from '@rethink-prune/core';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { lotteryMethod } from './method';

beforeAll(async () => { await initBackend('cpu'); });
afterAll(() => shutdownBackend());

async function cli(argv: string[]): Promise<{ code: number; out: string; err: string }> {
  const printed = { out: '', err: '' };
  const capture = (stream: 'out' | 'err') => (text: string | Uint8Array) => {
    printed[stream] += String(text);
    return true;
  };
  const out = vi.spyOn(process.stdout, 'write').mockImplementation(capture('out'));
  const err = vi.spyOn(process.stderr, 'write').mockImplementation(capture('err'));
  try {
    return { code: await runMethodCli(lotteryMethod, [...argv, '--backend', 'cpu']), ...printed };
  } finally {
    out.mockRestore();
    err.mockRestore();
  }
}

/** Weight-level VGG: convs 1→4 and 4→8 (3×3): 36 + 288 = 324 conv weights. */
const TINY: ArchSpec = { arch: 'vgg', dataset: 'mnist', cfg: [4, 'M', 8], classifier: 'linear', convBias: true, bnGamma: 1, convInit: 'fan-in' };
const CONV = 'features.1.conv/kernel';

describe('lottery-ticket prune and rewind on saved models', () => {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'lottery-cli-'));
  const dirs = { init: 'init', trained: 'trained', round1: 'round1', round2: 'round2', ticket: 'ticket' };
  for (const key of Object.keys(dirs) as Array<keyof typeof dirs>) dirs[key] = path.join(root, dirs[key]);

  beforeAll(async () => {
    for (const [dir, seed] of [[dirs.init, 1], [dirs.trained, 2]] as const) {
      const model = buildModel(TINY, seed);
      await saveModelDir(dir, model, TINY);
      model.dispose();
    }
  });

  it('prune --rate removes that share of the remaining conv weights, round after round', async () => {
    const first = await cli(['prune', '--model', dirs.trained, '--rate', '0.5', '--out', dirs.round1]);
    expect(first.code, first.err).toBe(0);
    // int(324 · 0.5) + 1 = 163 go (t itself goes): 161 kept, 50.31% pruned; then int(161 · 0.5) + 1 = 81: 80 kept.
    expect(first.out).toContain(`conv weights pruned: 0.00% → ${(100 * 163 / 324).toFixed(2)}%`);
    const second = await cli(['prune', '--model', dirs.round1, '--rate', '0.5', '--out', dirs.round2]);
    expect(second.code, second.err).toBe(0);
    expect(second.out).toContain(`→ ${(100 * (324 - 80) / 324).toFixed(2)}%`);
  });

  it('rewind gives the initial weights with the pruned model\'s masks', async () => {
    const run = await cli(['rewind', '--init', dirs.init, '--pruned', dirs.round2, '--out', dirs.ticket]);
    expect(run.code, run.err).toBe(0);
    const [ticket, pruned] = await Promise.all([dirs.ticket, dirs.round2].map(loadModelDir));
    const init = namedWeights(buildModel(TINY, 1)).get(CONV)!.read().dataSync();
    const mask = pruned.masks!.get(CONV)!.dataSync();
    const rewound = namedWeights(ticket.model).get(CONV)!.read().dataSync();
    expect(Array.from(rewound, (value) => value + 0)).toEqual(Array.from(init, (value, i) => (mask[i] === 1 ? value : 0)));
    expect(ticket.masks!.size).toBe(2);
  });

  it.each([
    [['prune', '--model', 'nowhere', '--rate', '0.2', '--out', 'x'], /--model nowhere: no such directory/],
    [['prune', '--model', '{trained}', '--rate', '1.5', '--out', '{root}/bad'], /--rate 1\.5: give the share of the remaining conv weights/],
    [['prune', '--model', '{trained}', '--rate', '0.2', '--out', '{trained}'], /--out must differ/],
    [['rewind', '--init', '{init}', '--pruned', '{trained}', '--out', '{root}/bad'], /no masks\.json there/],
    [['reproduce', '--models', 'vgg99-iterative'], /unknown lottery-ticket variant 'vgg99-iterative'/],
    [['reproduce', '--lrs', '0.1,-1'], /--lrs 0\.1,-1: give initial learning rates above 0/],
    [['rewind', '--init', '{init}', '--out', '{root}/bad'], /--pruned <dir> is required/],
    [['reproduce', '--rounds', '0'], /--rounds 0: give a whole number ≥ 1/],
    [['reproduce', '--models', 'resnet56-A', '--dataset', 'imagenet'], /CIFAR-size experiment/],
    [['sideways'], /unknown command 'sideways'/],
  ])('%j is a usage error (exit 2) that writes nothing', async (argv, message) => {
    const filled = argv.map((arg) => arg.replace('{trained}', dirs.trained).replace('{init}', dirs.init).replace('{root}', root));
    const run = await cli(filled);
    expect(run.code, run.err).toBe(USAGE_EXIT_CODE);
    expect(run.err).toMatch(message);
    expect(run.err).toContain("Run 'lottery-ticket --help' for usage.");
    expect(fs.existsSync(path.join(root, 'bad'))).toBe(false);
  });

  it('--help names every command and the schedule defaults', async () => {
    const run = await cli(['--help']);
    expect(run.code).toBe(0);
    for (const text of ['reproduce [options]', 'prune --model <dir> --rate <p>', 'rewind --init <dir>', '--rounds N', '--lrs a,b',
      'default 0.1,0.01 on paper']) {
      expect(run.out).toContain(text);
    }
  });
});
