import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs';
import { unzipSync, zipSync } from 'fflate';
import { File, Group } from 'jsfive';
import { describe, expect, it, vi } from 'vitest';
import { kerasSnakeCase, kerasWeightGroups, readKerasModel } from './keras3-weights';
import { readLayersModel } from './model-files';
import { runModelCli } from './cli';
import { traceModel } from './traced-graph';
import { pruneTracedModel, tracedKeepSets } from './prune-traced';

// tools/keras3-fixtures.py: a small functional model saved by Keras 3.15 (`model.save`), and Keras's prediction
// for a fixed input, computed by Keras itself.
const FIXTURE = path.join(__dirname, 'fixtures', 'keras3-mixed.keras');
const expected = JSON.parse(fs.readFileSync(path.join(__dirname, 'fixtures', 'keras3-mixed.expected.json'), 'utf8'));
const predict = (model: tf.LayersModel) => tf.tidy(() =>
  (model.predict(tf.tensor(expected.input, expected.input_shape)) as tf.Tensor).dataSync());

describe('Keras 3 models with their weights', () => {
  it('load from a .keras archive and predict what Keras predicted', async () => {
    const model = await readKerasModel(FIXTURE);
    expect(model.countParams()).toBe(3159); // Keras's count_params() when the fixture was written
    const ours = predict(model);
    expect(ours.length).toBe(expected.output.length);
    ours.forEach((v, i) => expect(v).toBeCloseTo(expected.output[i], 4));
  });

  it('load from a folder of config.json + model.weights.h5 through readLayersModel, as any model does', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'keras3-dir-'));
    for (const [name, bytes] of Object.entries(unzipSync(fs.readFileSync(FIXTURE)))) fs.writeFileSync(path.join(dir, name), bytes);
    const ours = predict(await readLayersModel(dir));
    ours.forEach((v, i) => expect(v).toBeCloseTo(expected.output[i], 4));
  });

  it('prune from a Keras 3 folder through rethink-prune-model, as the README says', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'keras3-cli-'));
    for (const [name, bytes] of Object.entries(unzipSync(fs.readFileSync(FIXTURE)))) fs.writeFileSync(path.join(dir, name), bytes);
    const out = path.join(os.tmpdir(), `keras3-pruned-${process.pid}`);
    const write = vi.spyOn(process.stdout, 'write').mockImplementation(() => true);
    try {
      await runModelCli(['prune', '--model', dir, '--out', out, '--ratio', '0.3', '--backend', 'cpu']);
    } finally {
      write.mockRestore();
    }
    expect((await readLayersModel(out)).countParams()).toBeLessThan(3159);
  });

  it('name the weight groups as Keras does when the file does not name the layers', async () => {
    expect(['BatchNormalization', 'ReLU', 'Conv2D', 'DepthwiseConv2D', 'GlobalAveragePooling2D', 'InputLayer']
      .map(kerasSnakeCase)).toEqual(['batch_normalization', 're_lu', 'conv2d', 'depthwise_conv2d',
      'global_average_pooling2d', 'input_layer']);
    // The groups Keras wrote for the fixture, against ours from the model's layer classes in order.
    const h5 = unzipSync(fs.readFileSync(FIXTURE))['model.weights.h5'];
    const layers = new File(h5.slice().buffer as ArrayBuffer, 'fixture').get('layers') as Group;
    const model = await readKerasModel(FIXTURE);
    expect(kerasWeightGroups(model.layers.map((l) => l.getClassName())).sort()).toEqual([...layers.keys].sort());
  });

  it('refuse a file that is not a .keras archive, or one whose weights do not fit the config, naming both', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'keras3-bad-'));
    const notZip = path.join(dir, 'broken.keras');
    fs.writeFileSync(notZip, 'not a zip');
    await expect(readKerasModel(notZip)).rejects.toThrow(/broken\.keras.*not a \.keras archive/);
    // The config of the fixture with a wider head than its weights.
    const files = unzipSync(fs.readFileSync(FIXTURE));
    const config = JSON.parse(Buffer.from(files['config.json']).toString('utf8'));
    config.config.layers.find((l: { name: string }) => l.name === 'logits').config.units = 4;
    const misfit = path.join(dir, 'misfit.keras');
    fs.writeFileSync(misfit, zipSync({ ...files, 'config.json': Buffer.from(JSON.stringify(config)) }));
    await expect(readKerasModel(misfit)).rejects.toThrow(/layer 'logits' weight 0 .* has shape \[11,3\].*needs \[11,4\]/);
    await expect(readKerasModel(path.join(dir, 'absent.keras'))).rejects.toThrow(/absent\.keras.*no such file/);
  });

  it('prune like any traced model: 30% of the channels by L1, a smaller model that still predicts', async () => {
    const model = await readKerasModel(FIXTURE);
    const groups = traceModel(model);
    const pruned = await pruneTracedModel(model, groups, tracedKeepSets(model, groups, { criterion: 'l1', ratio: 0.3 }));
    expect(pruned.countParams()).toBeLessThan(model.countParams());
    expect(predict(pruned).every(Number.isFinite)).toBe(true);
  });
});
