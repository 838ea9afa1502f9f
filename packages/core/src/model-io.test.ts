import { execFile } from 'child_process';
import * as fs from 'fs';
import * as http from 'http';
import type { AddressInfo } from 'net';
import * as os from 'os';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initBackend, shutdownBackend } from './backend';
import { applyMasks, maskSparsity, namedWeights } from './masks';
import { loadModelDir, ModelDirError, saveModelDir } from './model-io';
import { buildModel, namedSpec } from './spec';
import { randomArray, seededRandom } from './test-util/naive-conv';

beforeAll(async () => { await initBackend('cpu'); });
afterAll(() => shutdownBackend());

const tmp = () => fs.mkdtempSync(path.join(os.tmpdir(), 'model-io-'));

describe('model directories', () => {
  it('a saved model loads in a fresh process with plain tf.loadLayersModel(url) and gives identical logits', async () => {
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
        const x = JSON.parse(require('fs').readFileSync(${JSON.stringify(path.join(dir, 'input.json'))}, 'utf8'));
        process.stdout.write(JSON.stringify(Array.from(m.predict(tf.tensor4d(x, [2, 32, 32, 3])).dataSync())));
      });`;
    try {
      const out = await new Promise<string>((resolve, reject) => {
        execFile(process.execPath, ['-e', script], { timeout: 60_000 }, (err, stdout) => (err ? reject(err) : resolve(stdout)));
      });
      expect(JSON.parse(out)).toEqual(logits);
    } finally {
      server.close();
    }
    const loaded = await loadModelDir(dir);
    expect(loaded.spec).toEqual(spec);
    expect(Array.from((loaded.model.predict(tf.tensor4d(x, [2, 32, 32, 3])) as tf.Tensor).dataSync())).toEqual(logits);
  });

  it('keeps masks across save and load; applyMasks zeroes the masked weights', async () => {
    const dir = tmp();
    const spec = namedSpec('vgg11');
    const model = buildModel(spec, 1);
    const kernel = namedWeights(model).get('features.1.conv/kernel')!;
    const mask = tf.tensor(Array.from({ length: kernel.read().size }, (_, i) => (i % 3 === 0 ? 0 : 1)), kernel.shape as number[]);
    const masks = new Map([['features.1.conv/kernel', mask]]);
    applyMasks(model, masks);
    expect(kernel.read().dataSync().filter((_, i) => i % 3 === 0).every((v) => v === 0)).toBe(true);
    await saveModelDir(dir, model, spec, masks);
    const loaded = await loadModelDir(dir);
    expect(loaded.masks!.size).toBe(1);
    expect(maskSparsity(loaded.masks!)).toBeCloseTo(maskSparsity(masks), 10);
    expect(Array.from(loaded.masks!.get('features.1.conv/kernel')!.dataSync())).toEqual(Array.from(mask.dataSync()));
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
});
