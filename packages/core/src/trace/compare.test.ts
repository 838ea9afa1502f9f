import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs';
import { sharedTestDataDir, writeTinyImageNet } from '@rethink-prune/datasets';
import { afterAll, describe, expect, it } from 'vitest';
import { shutdownBackend } from '../backend';
import { writeModelFiles } from '../model-io';
import { printedModelCli } from '../test-util/model-cli';

afterAll(() => shutdownBackend());

/** The one row of a results.csv (no field of it holds a comma). */
function csvRow(text: string): Record<string, string> {
  const [head, line] = text.trim().split('\n');
  const values = line.split(',');
  return Object.fromEntries(head.split(',').map((column, i) => [column, values[i]]));
}


/**
 * A user's model: conv 3→8 (3×3, same) on 32×32, BN, ReLU, global pooling, Dense 8→classes with a softmax. Its
 * multiply-adds by hand: 32·32·27·8 = 221 184 + 8·3 = 221 208; half its filters pruned: 110 592 + 4·3 = 110 604.
 */
function userModel(classes: number): tf.LayersModel {
  const input = tf.input({ shape: [32, 32, 3], name: 'image' });
  let x = tf.layers.conv2d({ name: 'conv', filters: 8, kernelSize: 3, padding: 'same', useBias: false }).apply(input) as tf.SymbolicTensor;
  x = tf.layers.batchNormalization({ name: 'bn' }).apply(x) as tf.SymbolicTensor;
  x = tf.layers.reLU({ name: 'relu' }).apply(x) as tf.SymbolicTensor;
  x = tf.layers.globalAveragePooling2d({ name: 'gap' }).apply(x) as tf.SymbolicTensor;
  const out = tf.layers.dense({ name: 'head', units: classes, activation: 'softmax' }).apply(x) as tf.SymbolicTensor;
  return tf.model({ inputs: input, outputs: out });
}

describe('rethink-prune-model compare', () => {
  const dataDir = writeTinyImageNet(sharedTestDataDir());
  const images = path.join(dataDir, 'imagenet'); // 3 classes, 4 training and 2 validation images each
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'compare-'));
  const modelDir = path.join(work, 'mine');
  const runDir = path.join(work, 'run');
  const args = ['compare', '--model', modelDir, '--images', images, '--ratio', '0.5', '--epochs', '2',
    '--finetune-epochs', '1', '--batch-size', '4', '--run-dir', runDir, '--backend', 'cpu'];

  it('runs the comparison end to end on an image folder: the table, CSV and chart, Scratch-B by the FLOPs ratio', async () => {
    await writeModelFiles(modelDir, userModel(3));
    const { out, error } = await printedModelCli(args);
    expect(error).toBeUndefined();
    expect(out).toMatch(/softmax of the last layer is left out while training/);
    const row = csvRow(fs.readFileSync(path.join(runDir, 'results.csv'), 'utf8'));
    expect(row).toMatchObject({ method: 'traced-l1', model: 'mine', variant: 'ratio-0.5', flops: '221208',
      pruned_flops: '110604', epochs_finetune: '1', epochs_scratch_e: '2' });
    // int(2 × 221 208 / 110 604) = 4 epochs for the baseline's compute; the first at Scratch-E's LR (its step is at 1,
    // Scratch-B's at 2), so Scratch-B started from the state Scratch-E kept after it.
    expect(row.epochs_scratch_b).toBe('4');
    const scratchB = JSON.parse(fs.readFileSync(path.join(runDir, 'scratch-b', 'result.json'), 'utf8'));
    expect(scratchB.sharedStart).toMatchObject({ from: path.join(runDir, 'scratch-e'), epochs: 1 });
    for (const column of ['acc_baseline', 'acc_before_finetune', 'acc_finetuned', 'acc_scratch_e', 'acc_scratch_b']) {
      const value = Number(row[column]);
      expect(value).toBeGreaterThanOrEqual(0);
      expect(value).toBeLessThanOrEqual(100);
      expect(row[column]).not.toBe('');
    }
    expect(fs.readFileSync(path.join(runDir, 'chart.svg'), 'utf8')).toMatch(/^<svg/);
    expect(fs.readFileSync(path.join(runDir, 'results.md'), 'utf8')).toContain('mine');
  }, 240_000);

  it('reuses every finished stage, and refuses one whose settings changed, naming the setting', async () => {
    const before = fs.statSync(path.join(runDir, 'scratch-b', 'result.json')).mtimeMs;
    expect((await printedModelCli(args)).error).toBeUndefined();
    expect(fs.statSync(path.join(runDir, 'scratch-b', 'result.json')).mtimeMs).toBe(before);
    const changed = args.map((a) => (a === '0.5' ? '0.25' : a));
    expect((await printedModelCli(changed)).error?.message).toMatch(/ratio/);
  }, 120_000);

  it('takes another image folder as other data: its finished stages are stale, not reused', async () => {
    const copy = path.join(work, 'images-copy');
    fs.cpSync(images, copy, { recursive: true });
    const other = args.map((a) => (a === images ? copy : a));
    expect((await printedModelCli(other)).error?.message).toMatch(/run\/baseline holds a finished stage produced with a different data/);
  }, 60_000);

  it('refuses train/ and val/ folders with different classes, naming both lists', async () => {
    const odd = path.join(work, 'odd');
    fs.cpSync(images, odd, { recursive: true });
    fs.renameSync(path.join(odd, 'val', 'c002'), path.join(odd, 'val', 'x002'));
    const { error } = await printedModelCli(['compare', '--model', modelDir, '--images', odd, '--run-dir', path.join(work, 'r3'),
      '--backend', 'cpu']);
    expect(error?.message).toMatch(/same class folders \(train: c000, c001, c002; val: c000, c001, x002\)/);
  }, 60_000);

  it('says when the data does not fit the model', async () => {
    const wrong = path.join(work, 'ten');
    await writeModelFiles(wrong, userModel(10));
    const { error } = await printedModelCli(['compare', '--model', wrong, '--images', images, '--run-dir', path.join(work, 'r2'),
      '--backend', 'cpu']);
    expect(error?.message).toMatch(/the model has 10 outputs, the data 3 classes/);
    expect((await printedModelCli(['compare', '--model', wrong, '--backend', 'cpu'])).error?.message).toMatch(/needs --images/);
  }, 60_000);
});
