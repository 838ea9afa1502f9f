import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeModelFiles } from '../model-io';
import { buildModel, namedSpec, type ArchSpec } from '../spec';
import { setUpTestBackends, TEST_BACKENDS, useBackend } from '../test-util/backends';
import { withKernelLog } from '../test-util/kernel-log';
import { randomArray, seededRandom } from '../test-util/naive-conv';
import { readLayersModel } from '../trace/model-files';
import { narrowSpec } from '../widths';
import { ChannelSelection } from './channel-selection';

beforeAll(setUpTestBackends);

const KEPT = [0, 1, 2, 3, 4, 5, 6, 9];

/** PreResNet-20 whose first selection keeps KEPT, 8 of layer1.0.bn1's 16 channels. */
function prunedPreResNet(): ArchSpec {
  const spec = namedSpec('preresnet20') as ArchSpec & { cfg: number[] };
  const cfg = [...spec.cfg];
  cfg[0] = KEPT.length;
  return { ...spec, cfg, selections: { 'layer1.0.select': KEPT } } as ArchSpec;
}

describe.each(TEST_BACKENDS)('channel selection on %s', (backend) => {
  it('copies the kept channels in order, and its gradient puts dy back on them and zero elsewhere', async () => {
    await useBackend(backend);
    const model = buildModel(prunedPreResNet(), 1);
    const select = model.getLayer('layer1.0.select');
    expect(select).toBeInstanceOf(ChannelSelection);
    const [pixels, channels] = [2 * 3 * 3, 16];
    const xs = randomArray(seededRandom(3), pixels * channels);
    const ws = randomArray(seededRandom(4), pixels * KEPT.length);
    const x = tf.tensor4d(xs, [2, 3, 3, channels]);
    const w = tf.tensor4d(ws, [2, 3, 3, KEPT.length]);
    const y = select.apply(x) as tf.Tensor;
    const dx = tf.grad((input: tf.Tensor) => tf.sum(tf.mul(select.apply(input) as tf.Tensor, w)))(x);
    const wantY: number[] = [];
    const wantDx = new Array<number>(pixels * channels).fill(0);
    for (let p = 0; p < pixels; p++) {
      KEPT.forEach((c, j) => {
        wantY.push(xs[p * channels + c]);
        wantDx[p * channels + c] = ws[p * KEPT.length + j];
      });
    }
    expect(y.shape).toEqual([2, 3, 3, KEPT.length]);
    expect(Array.from(y.dataSync())).toEqual(wantY);
    expect(Array.from(dx.dataSync())).toEqual(wantDx);
    tf.dispose([x, w, y, dx]);
    model.dispose();
  });
});

describe('channel selection, saved and run', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'selection-'));
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('saves as a 1×1 Conv2D that plain tfjs loads and runs to the same predictions', async () => {
    await useBackend('wasm');
    const model = buildModel(prunedPreResNet(), 2);
    await writeModelFiles(dir, model);
    const plain = await readLayersModel(dir);
    expect(plain.getLayer('layer1.0.select').getClassName()).toBe('Conv2D');
    expect(plain.getLayer('layer1.0.select')).not.toBeInstanceOf(ChannelSelection);
    const x = tf.tensor4d(randomArray(seededRandom(5), 2 * 32 * 32 * 3), [2, 32, 32, 3]);
    const ours = model.predict(x) as tf.Tensor;
    const theirs = plain.predict(x) as tf.Tensor;
    const [a, b] = [ours.dataSync(), theirs.dataSync()];
    a.forEach((value, i) => expect(value).toBeCloseTo(b[i], 5));
    tf.dispose([x, ours, theirs]);
    model.dispose();
    plain.dispose();
  });

  it('runs no convolution for a selection: a DenseNet-40 forward runs its 39 convs, not 78', async () => {
    await useBackend('wasm');
    const model = buildModel(narrowSpec(namedSpec('densenet40'), 4), 3);
    expect(model.layers.filter((layer) => layer instanceof ChannelSelection)).toHaveLength(39);
    const x = tf.zeros([1, 32, 32, 3]);
    const { kernels } = withKernelLog(() => tf.dispose(model.apply(x, { training: true }) as tf.Tensor));
    expect(kernels.filter((k) => k === 'Conv2D' || k === 'FusedConv2D')).toHaveLength(39);
    x.dispose();
    model.dispose();
  });
});
