import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs';
import {
  buildModel, convKernels, initBackend, namedWeights, narrowSpec, namedSpec, saveModelDir, shutdownBackend,
  type ArchSpec, type MaskSet,
} from '@rethink-prune/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { convSparsity, filterMasks, nextRoundMasks, rewind } from './ticket';

beforeAll(async () => { await initBackend('cpu'); });
afterAll(() => shutdownBackend());

/** Weight-level VGG: convs 1→4 (3×3) and 4→8 on 28×28, with conv biases: 36 + 288 = 324 conv weights. */
const TINY: ArchSpec = { arch: 'vgg', dataset: 'mnist', cfg: [4, 'M', 8], classifier: 'linear', convBias: true, bnGamma: 1, convInit: 'fan-in' };
const TINY_CONV_WEIGHTS = 36 + 288;
const INIT_SEED = 11;

// + 0 turns the -0 of a masked negative weight into 0: the test compares values, not signs of zero
const values = (tensor: tf.Tensor) => Array.from(tensor.dataSync(), (value) => value + 0);
const weightValues = (model: tf.LayersModel) =>
  new Map([...namedWeights(model)].map(([name, weight]) => [name, values(weight.read())]));
const keptCount = (masks: MaskSet) => [...masks.values()].reduce((sum, mask) => sum + values(mask).filter((v) => v === 1).length, 0);

/** The init saved as the baseline saves it; the independent copy to compare with is built from the same seed. */
async function savedInit(spec: ArchSpec): Promise<string> {
  const dir = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'ticket-')), 'init');
  const model = buildModel(spec, INIT_SEED);
  await saveModelDir(dir, model, spec);
  model.dispose();
  return dir;
}

/** A "trained" model: other weights than the init's, zero wherever `masks` prune (as masked training leaves it). */
function trainedModel(spec: ArchSpec, seed: number, masks?: MaskSet): tf.LayersModel {
  const model = buildModel(spec, seed);
  const weights = namedWeights(model);
  for (const [name, mask] of masks ?? []) weights.get(name)!.write(tf.mul(weights.get(name)!.read(), mask));
  return model;
}

describe('rewind (unstructured): the winning ticket', () => {
  it('holds exactly the saved initial values on kept weights, 0 on pruned ones, and the init everywhere else', async () => {
    const initDir = await savedInit(TINY);
    const trained = trainedModel(TINY, 5);
    const masks = nextRoundMasks(trained, 0.5);
    const ticket = await rewind(initDir, { masks });
    const init = weightValues(buildModel(TINY, INIT_SEED));
    const rewound = weightValues(ticket);
    for (const [name, initial] of init) {
      const mask = masks.get(name);
      const expected = mask ? initial.map((value, i) => (values(mask)[i] === 1 ? value : 0)) : initial;
      expect(rewound.get(name), name).toEqual(expected);
    }
    // Both convs are masked, the linear layer and the biases are not.
    expect([...masks.keys()]).toEqual(['features.0.conv/kernel', 'features.1.conv/kernel']);
    expect(values(ticket.getWeights()[0]).some((value) => value === 0)).toBe(true);
  });
});

describe('nextRoundMasks: iterative rounds at 20% of the remaining conv weights', () => {
  it('nests the masks and compounds: each round removes int(0.2 · remaining) + 1 weights (t itself goes)', () => {
    // The seed's threshold sits at index #zeros + int(#non-zero · 0.2) and keeps |w| > t: with no ties that is
    // int(0.2 · n) + 1 weights a round. From 324: 324 − 65 = 259, 259 − 52 = 207, 207 − 42 = 165.
    const expectedKept = [259, 207, 165];
    let previous: MaskSet | undefined;
    expectedKept.forEach((kept, round) => {
      // Every round "trains" to new weights; the masked ones stay zero, as masked training keeps them.
      const trained = trainedModel(TINY, 100 + round, previous);
      const masks = nextRoundMasks(trained, 0.2, previous);
      expect(keptCount(masks)).toBe(kept);
      for (const [name, mask] of previous ?? []) {
        const now = values(masks.get(name)!);
        values(mask).forEach((before, i) => { if (before === 0) expect(now[i]).toBe(0); });
      }
      expect(convSparsity(trained, masks)).toBeCloseTo(1 - kept / TINY_CONV_WEIGHTS, 10);
      previous = masks;
      trained.dispose();
    });
    // Frankle & Carbin's compounding 1 − 0.8^r, up to the extra weight each round removes.
    expect(1 - 165 / TINY_CONV_WEIGHTS).toBeCloseTo(1 - 0.8 ** 3, 1);
  });
});

describe('structured tickets (L1-norm filters): mask form and compact form', () => {
  // The ÷16 L1 VGG-16: convs 3→4, 4→4, then 8 … The prune keeps filters 1, 3 of conv 0 and 0, 2, 3 of conv 1.
  const spec = narrowSpec(namedSpec('vgg16'), 16);
  const keep = { 'features.0.conv': [1, 3], 'features.1.conv': [0, 2, 3] };

  it('mask form: the kept filters hold their own initial values, the pruned filters are 0, BN and the rest stay', async () => {
    const initDir = await savedInit(spec);
    const masks = filterMasks(buildModel(spec, 5), keep);
    const ticket = weightValues(await rewind(initDir, { masks }));
    const init = weightValues(buildModel(spec, INIT_SEED));
    // Kernels are [3, 3, in, out] in row-major order: output filter = index mod out.
    const zeroedFilters: Record<string, { out: number; pruned: number[] }> = {
      'features.0.conv/kernel': { out: 4, pruned: [0, 2] },
      'features.1.conv/kernel': { out: 4, pruned: [1] },
    };
    for (const [name, initial] of init) {
      const zeroed = zeroedFilters[name];
      const expected = zeroed ? initial.map((value, i) => (zeroed.pruned.includes(i % zeroed.out) ? 0 : value)) : initial;
      expect(ticket.get(name), name).toEqual(expected);
    }
    // 2 of 4 filters of conv 0 (2 · 27 weights) and 1 of 4 of conv 1 (36) zeroed, of all conv weights.
    const total = convKernels(buildModel(spec, 0)).reduce((sum, [, weight]) => sum + weight.read().size, 0);
    expect(convSparsity(buildModel(spec, 0), masks)).toBeCloseTo((54 + 36) / total, 10);
  });

  it('compact form: the init cut to the kept channels (outputs of conv 0 and 1, inputs of conv 1 and 2, BN)', async () => {
    const initDir = await savedInit(spec);
    const compact = await rewind(initDir, { spec, keep });
    const init = namedWeights(buildModel(spec, INIT_SEED));
    const cut = namedWeights(compact);
    const gathered = (name: string, axes: Array<[number, number[]]>) => tf.tidy(() =>
      values(axes.reduce((tensor: tf.Tensor, [axis, kept]) => tf.gather(tensor, kept, axis), init.get(name)!.read())));
    expect(values(cut.get('features.0.conv/kernel')!.read())).toEqual(gathered('features.0.conv/kernel', [[3, [1, 3]]]));
    expect(values(cut.get('features.1.conv/kernel')!.read()))
      .toEqual(gathered('features.1.conv/kernel', [[2, [1, 3]], [3, [0, 2, 3]]]));
    expect(values(cut.get('features.2.conv/kernel')!.read())).toEqual(gathered('features.2.conv/kernel', [[2, [0, 2, 3]]]));
    for (const field of ['gamma', 'beta', 'moving_mean', 'moving_variance']) {
      expect(values(cut.get(`features.0.bn/${field}`)!.read())).toEqual(gathered(`features.0.bn/${field}`, [[0, [1, 3]]]));
    }
    expect(values(cut.get('features.3.conv/kernel')!.read())).toEqual(values(init.get('features.3.conv/kernel')!.read()));
  });
});
