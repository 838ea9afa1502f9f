import * as fs from 'fs';
import * as path from 'path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initBackend, shutdownBackend } from '../backend';
import { RunDirError, StaleStageError } from '../errors';
import { ModelDirError } from '../model-io';
import { buildModel } from '../spec';
import { syntheticData, TINY_SPEC, tinyRecipe, tmpDir } from '../test-util/tiny-run';
import { readCheckpoint } from './checkpoint';
import { identityMismatch } from './run-key';
import { readTrainResult, train, type TrainOptions } from './loop';

beforeAll(async () => { await initBackend('cpu'); });
afterAll(() => shutdownBackend());

const IDENTITY = { method: 'l1-norm', variant: 'vgg-a', profile: 'smoke', prunerVersion: 2 };

/** 32 images in batches of 8 for 2 epochs; checkpoints after every step. */
const options = (runDir: string, extra: Partial<TrainOptions> = {}): TrainOptions => ({
  model: buildModel(TINY_SPEC, 6), spec: TINY_SPEC, data: syntheticData(32), recipe: tinyRecipe(2, 8), seed: 5,
  runDir, limit: { train: 32, test: 16 }, checkpointSteps: 1, progress: false, identity: IDENTITY, ...extra,
});

/** A run stopped by a hook at step (1, 2): it leaves a checkpoint of epoch 1, batch 2, and no result. */
async function interruptedRun(extra: Partial<TrainOptions> = {}): Promise<string> {
  const runDir = tmpDir('interrupted-');
  const stop = { afterStep: ({ epoch, step }: { epoch: number; step: number }) => {
    if (epoch === 1 && step === 2) throw new Error('interrupted');
  } };
  await expect(train(options(runDir, { ...extra, hooks: stop }))).rejects.toThrow('interrupted');
  return runDir;
}

describe('identityMismatch', () => {
  it('names the first top-level field that differs, comparing JSON values deeply', () => {
    const key = { method: 'l1', spec: { cfg: [16, 'M', 32], arch: 'vgg' }, seed: 1 };
    const reordered = { seed: 1, spec: { arch: 'vgg', cfg: [16, 'M', 32] }, method: 'l1' };
    expect(identityMismatch(key, reordered)).toBeUndefined();
    expect(identityMismatch(key, { ...key, spec: { arch: 'vgg', cfg: [16, 'M', 33] } })).toBe('spec');
    expect(identityMismatch(key, { ...key, spec: { arch: 'vgg', cfg: [16, 'M'] } })).toBe('spec');
    expect(identityMismatch(key, { method: 'l1', spec: key.spec })).toBe('seed');
    expect(identityMismatch(key, { ...key, extra: null })).toBe('extra');
    expect(identityMismatch({ ...key, hooks: undefined }, key)).toBeUndefined();
    expect(identityMismatch(key, undefined)).toBe('run key (none recorded)');
  });
});

describe('run identity in the loop', () => {
  it('writes the identity into result.json; a finished run of another identity is refused, naming the field',
    async () => {
      const runDir = tmpDir('identity-');
      const result = await train(options(runDir, { recipe: tinyRecipe(1, 8) }));
      expect(result.identity).toEqual(IDENTITY);
      expect(JSON.parse(fs.readFileSync(path.join(runDir, 'result.json'), 'utf8')).identity).toEqual(IDENTITY);
      expect(readTrainResult(runDir)).toEqual(result);
      const newerPruner = { ...IDENTITY, prunerVersion: 3 };
      const other = train(options(runDir, { recipe: tinyRecipe(1, 8), identity: newerPruner }));
      await expect(other).rejects.toThrow(StaleStageError);
      await expect(other).rejects
        .toThrow(`${runDir} holds a result produced with a different identity.prunerVersion;`);
    });

  it('refuses a checkpoint of another run, naming the first differing field and the directory', async () => {
    const runDir = await interruptedRun();
    const variant = train(options(runDir, { identity: { ...IDENTITY, variant: 'vgg-b' } }));
    await expect(variant).rejects.toThrow(StaleStageError);
    await expect(variant).rejects
      .toThrow(`${runDir} holds a checkpoint produced with a different identity.variant;`);
    await expect(train(options(runDir, { seed: 6 }))).rejects.toThrow('with a different seed;');
    await expect(train(options(runDir, { identity: undefined }))).rejects.toThrow('with a different identity;');
    const resumed = await train(options(runDir));
    expect(resumed.identity).toEqual(IDENTITY);
  });
});

describe('damaged run directories are named errors', () => {
  let goodCheckpoint: string;
  beforeAll(async () => { goodCheckpoint = path.join(await interruptedRun(), 'checkpoint'); });

  /** A run directory whose only checkpoint is a copy of the good one, damaged by `damage`. */
  const damagedRun = (damage: (checkpointDir: string) => void) => {
    const runDir = tmpDir('damaged-');
    fs.cpSync(goodCheckpoint, path.join(runDir, 'checkpoint'), { recursive: true });
    damage(path.join(runDir, 'checkpoint'));
    return runDir;
  };
  const expectError = async (runDir: string, kind: typeof RunDirError | typeof ModelDirError,
    message: string) => {
    const failure = readCheckpoint(runDir);
    await expect(failure).rejects.toThrow(kind);
    await expect(failure).rejects.toThrow(message);
  };

  it('state.json missing, not JSON, or lacking a field', async () => {
    let runDir = damagedRun((dir) => fs.rmSync(path.join(dir, 'state.json')));
    await expectError(runDir, RunDirError, `${runDir}/checkpoint/state.json: missing`);
    runDir = damagedRun((dir) => fs.writeFileSync(path.join(dir, 'state.json'), '{"epoch": 1,'));
    await expectError(runDir, RunDirError, `${runDir}/checkpoint/state.json: not valid JSON`);
    runDir = damagedRun((dir) => {
      const state = JSON.parse(fs.readFileSync(path.join(dir, 'state.json'), 'utf8'));
      fs.writeFileSync(path.join(dir, 'state.json'), JSON.stringify({ ...state, nextBatch: 'two' }));
    });
    await expectError(runDir, RunDirError,
      `${runDir}/checkpoint/state.json: field 'nextBatch' is missing or not a number`);
  });

  it('optimizer.bin missing or of the wrong length', async () => {
    let runDir = damagedRun((dir) => fs.rmSync(path.join(dir, 'optimizer.bin')));
    await expectError(runDir, RunDirError, `${runDir}/checkpoint/optimizer.bin: missing`);
    runDir = damagedRun((dir) => fs.appendFileSync(path.join(dir, 'optimizer.bin'), Buffer.alloc(4)));
    // Momentum buffers of the 8 trainable weights: 36 + 4 + 4 + 288 + 8 + 8 + 5120 + 10 = 5478 floats.
    await expectError(runDir, RunDirError,
      `${runDir}/checkpoint/optimizer.bin: has 21916 bytes, state.json expects 21912`);
  });

  it('spec.json missing or invalid in a checkpoint', async () => {
    let runDir = damagedRun((dir) => fs.rmSync(path.join(dir, 'spec.json')));
    await expectError(runDir, ModelDirError, `${runDir}/checkpoint: missing spec.json`);
    runDir = damagedRun((dir) => fs.writeFileSync(path.join(dir, 'spec.json'), 'vgg'));
    await expectError(runDir, ModelDirError, `${runDir}/checkpoint/spec.json: not valid JSON`);
    runDir = damagedRun((dir) => fs.writeFileSync(path.join(dir, 'spec.json'), '{"arch": "vgg"}'));
    await expectError(runDir, ModelDirError, `${runDir}/checkpoint/spec.json: not a valid spec`);
  });

  it('a damaged checkpoint/ falls back to a complete checkpoint.previous/, which is kept', async () => {
    const runDir = damagedRun((dir) => fs.rmSync(path.join(dir, 'optimizer.bin')));
    fs.cpSync(goodCheckpoint, path.join(runDir, 'checkpoint.previous'), { recursive: true });
    const restored = (await readCheckpoint(runDir))!;
    expect(restored.dir).toBe(path.join(runDir, 'checkpoint.previous'));
    expect([restored.state.epoch, restored.state.nextBatch]).toEqual([1, 2]);
    restored.model.dispose();
    expect(fs.existsSync(path.join(runDir, 'checkpoint.previous', 'state.json'))).toBe(true);
    // The resumed run completes, and its own checkpoints replace both.
    const result = await train(options(runDir));
    expect(result.epochs).toBe(2);
    expect(fs.existsSync(path.join(runDir, 'checkpoint', 'optimizer.bin'))).toBe(true);
  });

  it('result.json that is not JSON or not a result', () => {
    const runDir = tmpDir('result-');
    fs.writeFileSync(path.join(runDir, 'result.json'), '{"bestTop1": 9');
    expect(() => readTrainResult(runDir)).toThrow(RunDirError);
    expect(() => readTrainResult(runDir)).toThrow(`${runDir}/result.json: not valid JSON`);
    fs.writeFileSync(path.join(runDir, 'result.json'), JSON.stringify({ top1: 9 }));
    expect(() => readTrainResult(runDir)).toThrow(`${runDir}/result.json: is not a training result`);
    expect(readTrainResult(tmpDir('no-result-'))).toBeUndefined();
  });
});
