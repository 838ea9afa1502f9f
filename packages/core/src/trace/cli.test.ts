import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { shutdownBackend } from '../backend';
import { runModelCli } from './cli';
import { writeModelFiles } from '../model-io';
import { readLayersModel } from './model-files';

afterAll(() => shutdownBackend());

async function printed(argv: string[]): Promise<{ out: string; error?: Error }> {
  let out = '';
  const spy = vi.spyOn(process.stdout, 'write').mockImplementation((text) => { out += String(text); return true; });
  const err = vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
  try {
    await runModelCli(argv);
    return { out };
  } catch (e) {
    return { out, error: e as Error };
  } finally {
    spy.mockRestore();
    err.mockRestore();
  }
}

describe('rethink-prune-model', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'user-model-'));

  it('prunes a saved model.json into one that plain tf.loadLayersModel reads, smaller as it says', async () => {
    await tf.setBackend('cpu');
    const model = tf.sequential({ layers: [
      tf.layers.conv2d({ name: 'a', inputShape: [6, 6, 2], filters: 6, kernelSize: 3 }),
      tf.layers.batchNormalization({ name: 'a_bn' }), tf.layers.reLU({ name: 'a_relu' }),
      tf.layers.globalAveragePooling2d({ name: 'gap' }), tf.layers.dense({ name: 'head', units: 2 }),
    ] });
    await writeModelFiles(path.join(dir, 'original'), model);
    const { out, error } = await printed(['prune', '--model', path.join(dir, 'original', 'model.json'),
      '--out', path.join(dir, 'pruned'), '--ratio', '0.5', '--backend', 'cpu']);
    expect(error).toBeUndefined();
    // a: 3·3·2·6+6 → 3·3·2·3+3; a_bn: 24 → 12; head: 6·2+2 → 3·2+2
    expect(out).toContain('params 152 → 77 (49.3% fewer)');
    const pruned = await readLayersModel(path.join(dir, 'pruned'));
    expect(pruned.getLayer('a').getWeights()[0].shape).toEqual([3, 3, 2, 3]);
    expect((pruned.predict(tf.zeros([1, 6, 6, 2])) as tf.Tensor).shape).toEqual([1, 2]);
  });

  it.each([
    [['prune', '--model', '/no/such/dir', '--out', '/tmp/x'], /--model \/no\/such\/dir: no model.json there/],
    [['prune', '--model', 'x', '--out', 'y', '--ratio', '1'], /--ratio 1: give a share between 0 and 1/],
    [['prune', '--model', 'x', '--out', 'y', '--criterion', 'taylor'], /--criterion taylor: choose one of l1/],
    [['prune', '--model', 'x'], /prune needs --out/],
    [['polish'], /unknown command 'polish'/],
  ])('%j is a usage error', async (argv, message) => {
    const { error } = await printed(argv as string[]);
    expect(error?.name).toBe('UsageError');
    expect(error?.message).toMatch(message);
  });
});
