import { execFile } from 'child_process';
import * as fs from 'fs';
import * as http from 'http';
import type { AddressInfo } from 'net';
import * as os from 'os';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initBackend, shutdownBackend } from './backend';
import { applyMasks, maskSparsity, namedWeights } from './pruning/masks';
import { loadMasks, loadModelDir, ModelDirError, readModelSpec, saveModelDir } from './model-io';
import { BatchNormalization } from './models/batch-norm';
import { buildModel, namedSpec, type ArchSpec } from './spec';
import { TFJS_NODE_BUILT } from './test-util/backends';
import { randomArray, relativeError, seededRandom } from './test-util/naive-conv';

beforeAll(async () => { await initBackend('cpu'); });
afterAll(() => shutdownBackend());

const tmp = () => fs.mkdtempSync(path.join(os.tmpdir(), 'model-io-'));

describe('model directories', () => {
  it('a saved model loads in a fresh process with plain tf.loadLayersModel(url): same logits', async () => {
    const dir = tmp();
    const spec = namedSpec('resnet20');
    const model = buildModel(spec, 9);
    const x = randomArray(seededRandom(3), 2 * 32 * 32 * 3);
    const logits = Array.from((model.predict(tf.tensor4d(x, [2, 32, 32, 3])) as tf.Tensor).dataSync());
    await saveModelDir(dir, model, spec);
    fs.writeFileSync(path.join(dir, 'input.json'), JSON.stringify(Array.from(x)));
    const server = http.createServer((req, res) => {
      const file = path.join(dir, path.basename(req.url ?? ''));
      if (!fs.existsSync(file)) { res.statusCode = 404; res.end(); return; }
      res.end(fs.readFileSync(file));
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/model.json`;
    // Only @tensorflow/tfjs in the child: nothing of ours, as a browser or Node service would load it.
    const script = `
      const tf = require('@tensorflow/tfjs');
      tf.setBackend('cpu').then(async () => {
        const m = await tf.loadLayersModel(${JSON.stringify(url)});
        const input = ${JSON.stringify(path.join(dir, 'input.json'))};
        const x = JSON.parse(require('fs').readFileSync(input, 'utf8'));
        process.stdout.write(JSON.stringify(Array.from(m.predict(tf.tensor4d(x, [2, 32, 32, 3])).dataSync())));
      });`;
    try {
      const out = await new Promise<string>((resolve, reject) => {
        execFile(process.execPath, ['-e', script], { timeout: 60_000 },
          (error, stdout) => (error ? reject(error) : resolve(stdout)));
      });
      expect(JSON.parse(out)).toEqual(logits);
    } finally {
      server.close();
    }
    const loaded = await loadModelDir(dir);
    expect(loaded.spec).toEqual(spec);
    // Built from spec.json, so every layer has the class buildModel gives (our BN, the stop-gradient shortcut).
    const layerClasses = (net: tf.LayersModel) => net.layers.map((layer) => layer.constructor);
    expect(layerClasses(loaded.model)).toEqual(layerClasses(model));
    const loadedLogits = loaded.model.predict(tf.tensor4d(x, [2, 32, 32, 3])) as tf.Tensor;
    expect(Array.from(loadedLogits.dataSync())).toEqual(logits);
  });

  it('keeps masks across save and load; applyMasks zeroes the masked weights', async () => {
    const dir = tmp();
    const spec = namedSpec('vgg11');
    const model = buildModel(spec, 1);
    const kernel = namedWeights(model).get('features.1.conv/kernel')!;
    const maskValues = Array.from({ length: kernel.read().size }, (_, i) => (i % 3 === 0 ? 0 : 1));
    const mask = tf.tensor(maskValues, kernel.shape as number[]);
    const masks = new Map([['features.1.conv/kernel', mask]]);
    applyMasks(model, masks);
    expect(kernel.read().dataSync().filter((_, i) => i % 3 === 0).every((v) => v === 0)).toBe(true);
    await saveModelDir(dir, model, spec, masks);
    const loaded = await loadModelDir(dir);
    expect(loaded.masks!.size).toBe(1);
    expect(maskSparsity(loaded.masks!)).toBeCloseTo(maskSparsity(masks), 10);
    expect(Array.from(loaded.masks!.get('features.1.conv/kernel')!.dataSync())).toEqual(maskValues);
    // loadMasks reads the masks alone (the model it loads them with is disposed); a directory without masks has
    // none.
    const before = tf.memory().numTensors;
    const only = (await loadMasks(dir))!;
    expect(tf.memory().numTensors - before).toBe(only.size);
    expect(Array.from(only.get('features.1.conv/kernel')!.dataSync())).toEqual(maskValues);
    only.forEach((m) => m.dispose());
    const unmasked = tmp();
    await saveModelDir(unmasked, model, spec);
    expect(await loadMasks(unmasked)).toBeUndefined();
  });

  it('names what is wrong with a damaged directory', async () => {
    const dir = tmp();
    await expect(loadModelDir(dir)).rejects.toThrow(ModelDirError);
    await expect(loadModelDir(dir)).rejects.toThrow(/missing model\.json/);
    const spec = namedSpec('resnet20');
    await saveModelDir(dir, buildModel(spec), spec);
    fs.truncateSync(path.join(dir, 'weights.bin'), 100);
    await expect(loadModelDir(dir)).rejects.toThrow(/weights\.bin has 100 bytes, model\.json expects/);
  });

  it('builds the loaded model from spec.json: our BN class, the outputs of the saved model', async () => {
    const dir = tmp();
    const spec: ArchSpec =
      { arch: 'vgg', dataset: 'cifar10', cfg: [8, 'M', 16, 'M', 16], classifier: 'bn-mlp' };
    const model = buildModel(spec, 2);
    // Moving statistics away from their initial 0 and 1, so that inference depends on them.
    const random = seededRandom(8);
    for (const [name, weight] of namedWeights(model)) {
      if (name.endsWith('moving_mean') || name.endsWith('moving_variance')) {
        const values = Array.from({ length: weight.read().size }, () => 0.5 + random());
        weight.write(tf.tensor(values, weight.shape as number[]));
      }
    }
    const x = tf.tensor4d(randomArray(seededRandom(4), 2 * 32 * 32 * 3), [2, 32, 32, 3]);
    const outputs = (net: tf.LayersModel) =>
      [net.predict(x) as tf.Tensor, net.apply(x, { training: true }) as tf.Tensor]
        .map((output) => Array.from(output.dataSync()));
    const before = outputs(model);
    await saveModelDir(dir, model, spec);
    const loaded = await loadModelDir(dir);
    const batchNorms = loaded.model.layers.filter((layer) => layer.getClassName() === 'BatchNormalization');
    // One BN per conv (3) and the BatchNorm1d of the bn-mlp head.
    expect(batchNorms.length).toBe(4);
    expect(batchNorms.every((layer) => layer instanceof BatchNormalization)).toBe(true);
    expect(outputs(loaded.model)).toEqual(before);
  });

  it('names the weight and the file when weights.bin and spec.json disagree', async () => {
    const spec: ArchSpec = { arch: 'vgg', dataset: 'mnist', cfg: [4, 'M', 8], classifier: 'linear' };
    const dir = tmp();
    await saveModelDir(dir, buildModel(spec, 1), spec);
    fs.writeFileSync(path.join(dir, 'spec.json'), JSON.stringify({ ...spec, cfg: [4, 'M', 16] }));
    await expect(loadModelDir(dir)).rejects.toThrow(ModelDirError);
    await expect(loadModelDir(dir)).rejects.toThrow(`${dir}/weights.bin: weight 'features.1.conv/kernel' ` +
      `has shape [3,3,4,8], the model of ${dir}/spec.json needs [3,3,4,16]`);
    fs.writeFileSync(path.join(dir, 'spec.json'), JSON.stringify(spec));
    const modelJson = JSON.parse(fs.readFileSync(path.join(dir, 'model.json'), 'utf8'));
    modelJson.weightsManifest[0].weights[0].name = 'features.0.convolution/kernel';
    fs.writeFileSync(path.join(dir, 'model.json'), JSON.stringify(modelJson));
    await expect(loadModelDir(dir)).rejects
      .toThrow(`${dir}/weights.bin: has no weight 'features.0.conv/kernel'`);
    fs.writeFileSync(path.join(dir, 'model.json'), '{"weightsManifest": 3}');
    await expect(loadModelDir(dir)).rejects.toThrow(`${dir}/model.json: has no valid weightsManifest`);
  });

  it('names spec.json, masks.json and masks.bin when they are missing or malformed', async () => {
    const spec: ArchSpec = { arch: 'vgg', dataset: 'mnist', cfg: [4, 'M', 8], classifier: 'linear' };
    const dir = tmp();
    const masks = new Map([['features.0.conv/kernel', tf.ones([3, 3, 1, 4])]]);
    await saveModelDir(dir, buildModel(spec, 1), spec, masks);
    const write = (file: string, text: string) => fs.writeFileSync(path.join(dir, file), text);
    const masksJson = fs.readFileSync(path.join(dir, 'masks.json'), 'utf8');
    write('masks.json', '{"features.0.conv/kernel": ');
    await expect(loadModelDir(dir)).rejects.toThrow(`${dir}/masks.json: not valid JSON`);
    write('masks.json', JSON.stringify({ 'features.0.conv/kernel': { shape: [3, 3, 1, 5], offset: 0 } }));
    await expect(loadModelDir(dir)).rejects.toThrow(`${dir}/masks.json: mask 'features.0.conv/kernel' ` +
      'has shape [3,3,1,5], the weight has [3,3,1,4]');
    write('masks.json', masksJson);
    fs.truncateSync(path.join(dir, 'masks.bin'), 30);
    await expect(loadModelDir(dir)).rejects
      .toThrow(`${dir}/masks.bin: has 30 bytes, mask 'features.0.conv/kernel' needs 36`);
    fs.rmSync(path.join(dir, 'masks.bin'));
    await expect(loadModelDir(dir)).rejects.toThrow(`${dir}/masks.bin: missing`);
    write('spec.json', '{"arch": "vgg",');
    expect(() => readModelSpec(dir)).toThrow(ModelDirError);
    expect(() => readModelSpec(dir)).toThrow(`${dir}/spec.json: not valid JSON`);
    write('spec.json', JSON.stringify({ ...spec, cfg: [] }));
    expect(() => readModelSpec(dir)).toThrow(`${dir}/spec.json: not a valid spec`);
    fs.rmSync(path.join(dir, 'spec.json'));
    expect(() => readModelSpec(dir)).toThrow(`${dir}/spec.json: missing`);
  });
});

describe.runIf(TFJS_NODE_BUILT)('model directories on tfjs-node', () => {
  it('a model saved on tfjs-node loads there, by loadModelDir and by file://, with the same logits', async () => {
    await initBackend('tfjs-node');
    try {
      const dir = tmp();
      const spec = namedSpec('resnet20');
      const model = buildModel(spec, 9);
      const x = tf.tensor4d(randomArray(seededRandom(3), 2 * 32 * 32 * 3), [2, 32, 32, 3]);
      const logitsOf = (net: tf.LayersModel) => Array.from((net.predict(x) as tf.Tensor).dataSync());
      const logits = logitsOf(model);
      await saveModelDir(dir, model, spec);
      expect(logitsOf((await loadModelDir(dir)).model)).toEqual(logits);
      // What a Node service with tfjs-node would do, with nothing of ours.
      expect(logitsOf(await tf.loadLayersModel(`file://${path.join(dir, 'model.json')}`))).toEqual(logits);
      // The same file on the cpu backend: other kernels, so equal to float32 rounding only.
      await initBackend('cpu');
      expect(relativeError(logitsOf((await loadModelDir(dir)).model), logits)).toBeLessThan(1e-4);
    } finally {
      await initBackend('cpu');
    }
  });
});
