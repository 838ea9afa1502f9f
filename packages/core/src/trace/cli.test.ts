import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs';
import { afterAll, describe, expect, it } from 'vitest';
import { shutdownBackend } from '../backend';
import { writeModelFiles } from '../model-io';
import { printedModelCli } from '../test-util/model-cli';
import { readLayersModel } from './model-files';

afterAll(() => shutdownBackend());


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
    const { out, error } = await printedModelCli(['prune', '--model', path.join(dir, 'original', 'model.json'),
      '--out', path.join(dir, 'pruned'), '--ratio', '0.5', '--backend', 'cpu']);
    expect(error).toBeUndefined();
    // a: 3·3·2·6+6 → 3·3·2·3+3; a_bn: 24 → 12; head: 6·2+2 → 3·2+2
    expect(out).toContain('params 152 → 77 (49.3% fewer)');
    const pruned = await readLayersModel(path.join(dir, 'pruned'));
    expect(pruned.getLayer('a').getWeights()[0].shape).toEqual([3, 3, 2, 3]);
    expect((pruned.predict(tf.zeros([1, 6, 6, 2])) as tf.Tensor).shape).toEqual([1, 2]);
  });

  it('--flops-target takes the smallest ratio that removes at least that share of the multiply-adds', async () => {
    const original = path.join(dir, 'original', 'model.json');
    const { out, error } = await printedModelCli(['prune', '--model', original, '--out', path.join(dir, 'flops'),
      '--flops-target', '0.3', '--backend', 'cpu']);
    expect(error).toBeUndefined();
    // a keeps k of 6 filters: conv 16·(18k+k) + BN and ReLU + head 2k+2: FLOPs fall in steps of 1/6 of the filters,
    // so 30% needs 2 of the 6 gone (1 gone removes about 17%).
    expect(out).toMatch(/a +6 → 4\n/);
    const flops = /multiply-adds (\d+) → (\d+)/.exec(out)!.slice(1).map(Number);
    expect(1 - flops[1] / flops[0]).toBeGreaterThanOrEqual(0.3);
    const { error: unreachable } = await printedModelCli(['prune', '--model', original, '--out', path.join(dir, 'x'),
      '--flops-target', '0.99', '--backend', 'cpu']);
    expect(unreachable?.message).toMatch(/--flops-target 0.99: removing 99.0% of the multiply-adds is out of reach/);
  });

  it('--unstructured zeroes that share of all conv weights by magnitude and writes the masks beside the model', async () => {
    const { out, error } = await printedModelCli(['prune', '--model', path.join(dir, 'original'), '--out',
      path.join(dir, 'sparse'), '--unstructured', '0.5', '--backend', 'cpu']);
    expect(error).toBeUndefined();
    // a's kernel has 3·3·2·6 = 108 weights: the threshold at index int(108 · 0.5) = 54 keeps |w| > t, 53 of them.
    expect(out).toContain('50.93% of the weights of 1 conv kernels zeroed');
    const sparse = await readLayersModel(path.join(dir, 'sparse'));
    const kernel = Array.from(sparse.getLayer('a').getWeights()[0].dataSync());
    expect(kernel.filter((w) => w === 0)).toHaveLength(55);
    expect(JSON.parse(fs.readFileSync(path.join(dir, 'sparse', 'masks.json'), 'utf8'))).toHaveProperty(['a/kernel']);
  });

  it.each([
    [['prune', '--model', 'x', '--out', 'y', '--ratio', '0.3', '--flops-target', '0.3'], /--ratio and --flops-target: give one/],
    [['prune', '--model', '/no/such/dir', '--out', '/tmp/x'], /--model \/no\/such\/dir: no model.json there/],
    [['prune', '--model', 'x', '--out', 'y', '--ratio', '1'], /--ratio 1: give a share between 0 and 1/],
    [['prune', '--model', 'x', '--out', 'y', '--criterion', 'taylor'], /--criterion taylor: choose one of l1/],
    [['prune', '--model', 'x'], /prune needs --out/],
    [['polish'], /unknown command 'polish'/],
  ])('%j is a usage error', async (argv, message) => {
    const { error } = await printedModelCli(argv as string[]);
    expect(error?.name).toBe('UsageError');
    expect(error?.message).toMatch(message);
  });
});
