import * as fs from 'fs';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import * as os from 'os';
import { isKeras3Config, keras3ToTfjs } from './keras3';
import { writeModelFiles } from '../model-io';
import { readLayersModel } from './model-files';
import { paramCount, pruneTracedModel, tracedKeepSets } from './prune-traced';
import { traceModel, UnsupportedLayerError, type TracedGroup } from './traced-graph';
import { silenced } from '../test-util/silenced';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

/** Conv → BN → ReLU → pool → conv → BN → ReLU → Flatten → Dense → Dense (the output). */
function sequentialModel(): tf.Sequential {
  const model = tf.sequential({ layers: [
    tf.layers.conv2d({ name: 'c1', inputShape: [8, 8, 3], filters: 8, kernelSize: 3, padding: 'same' }),
    tf.layers.batchNormalization({ name: 'b1' }),
    tf.layers.activation({ name: 'r1', activation: 'relu' }),
    tf.layers.maxPooling2d({ name: 'p1', poolSize: 2 }),
    tf.layers.conv2d({ name: 'c2', filters: 12, kernelSize: 3, padding: 'same' }),
    tf.layers.batchNormalization({ name: 'b2' }),
    tf.layers.reLU({ name: 'r2' }),
    tf.layers.flatten({ name: 'flat' }),
    tf.layers.dense({ name: 'd1', units: 16, activation: 'relu' }),
    tf.layers.dense({ name: 'out', units: 4 }),
  ] });
  randomiseStatistics(model);
  return model;
}

/** A stem, a residual block tied to it by Add, a side branch from the input, Concatenate, GAP and a Dense head. */
function functionalModel(): tf.LayersModel {
  const input = tf.input({ shape: [8, 8, 4], name: 'image' });
  const withBn = (x: tf.SymbolicTensor, name: string) => tf.layers.batchNormalization({ name: `${name}_bn` }).apply(x) as tf.SymbolicTensor;
  const stem = tf.layers.reLU({ name: 'stem_relu' }).apply(
    withBn(tf.layers.conv2d({ name: 'stem', filters: 8, kernelSize: 3, padding: 'same' }).apply(input) as tf.SymbolicTensor, 'stem')) as tf.SymbolicTensor;
  const r1 = withBn(tf.layers.conv2d({ name: 'r1', filters: 8, kernelSize: 3, padding: 'same', useBias: false }).apply(stem) as tf.SymbolicTensor, 'r1');
  const sum = tf.layers.reLU({ name: 'sum_relu' }).apply(tf.layers.add({ name: 'sum' }).apply([r1, stem]) as tf.SymbolicTensor) as tf.SymbolicTensor;
  const side = withBn(tf.layers.conv2d({ name: 'side', filters: 4, kernelSize: 1 }).apply(input) as tf.SymbolicTensor, 'side');
  const joined = tf.layers.concatenate({ name: 'join' }).apply([sum, side]) as tf.SymbolicTensor;
  const pooled = tf.layers.globalAveragePooling2d({ name: 'gap' }).apply(joined) as tf.SymbolicTensor;
  const head = tf.layers.dense({ name: 'head', units: 3 }).apply(pooled) as tf.SymbolicTensor;
  const model = tf.model({ inputs: input, outputs: head });
  randomiseStatistics(model);
  return model;
}

/** BN statistics and scales away from their initial 0 / 1, so that a wrong slice shows in the outputs. */
function randomiseStatistics(model: tf.LayersModel): void {
  let seed = 7;
  for (const layer of model.layers.filter((l) => l.getClassName() === 'BatchNormalization')) {
    layer.setWeights(layer.getWeights().map((w, i) => tf.randomUniform(w.shape, i === 3 ? 0.5 : -1, i === 3 ? 2 : 1,
      'float32', seed++)));
  }
}

const byId = (groups: TracedGroup[], id: string) => groups.find((g) => g.id === id)!;
const members = (g: TracedGroup) => g.members.map((m) => `${m.layer}:${m.role}@${m.at}${m.repeat > 1 ? `×${m.repeat}/${m.stride}` : ''}`);

/** The model saved as tfjs's artifacts and loaded back by plain tf.loadLayersModel, as a browser would. */
async function savedAndReloaded(model: tf.LayersModel): Promise<tf.LayersModel> {
  let saved: tf.io.ModelArtifacts | undefined;
  await model.save(tf.io.withSaveHandler(async (artifacts) => {
    saved = artifacts;
    return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } };
  }));
  return tf.loadLayersModel(tf.io.fromMemory(saved!));
}

function expectSameOutputs(a: tf.LayersModel, b: tf.LayersModel, shape: number[]): void {
  const x = tf.randomNormal([2, ...shape], 0, 1, 'float32', 3);
  const [ya, yb] = [a.predict(x), b.predict(x)].map((y) => Array.from((y as tf.Tensor).dataSync()));
  expect(ya.length).toBe(yb.length);
  ya.forEach((v, i) => expect(Math.abs(v - yb[i])).toBeLessThan(1e-4));
}

describe('tracing a tf.sequential model', () => {
  it('groups each conv\'s filters with its BN and the next layer\'s inputs; Flatten repeats them per position', () => {
    const groups = traceModel(sequentialModel());
    expect(groups.map((g) => [g.id, g.size, g.fixed ?? 'prunable'])).toEqual([
      ['input:c1_input', 3, 'the model input'], ['c1', 8, 'prunable'], ['c2', 12, 'prunable'], ['d1', 16, 'prunable'],
      ['out', 4, 'a model output'],
    ]);
    expect(members(byId(groups, 'c1')).sort()).toEqual(['b1:bn@0', 'c1:out@0', 'c2:in@0']);
    // c2's 12 channels reach d1 at each of the 4×4 pooled positions: feature p·12 + c.
    expect(members(byId(groups, 'c2'))).toContain('d1:in@0×16/12');
  });

  it('prunes half of every prunable group by L1: params as counted by hand, outputs equal the silenced original', async () => {
    const model = sequentialModel();
    const groups = traceModel(model);
    const keep = tracedKeepSets(model, groups, { criterion: 'l1', ratio: 0.5 });
    expect(Object.fromEntries(Object.entries(keep).map(([id, k]) => [id, k.length]))).toEqual({ c1: 4, c2: 6, d1: 8 });
    const pruned = await pruneTracedModel(model, groups, keep);
    // c1 3·3·3·8+8, b1 4·8, c2 3·3·8·12+12, b2 4·12, d1 16·12·16+16, out 16·4+4
    expect(paramCount(model)).toBe(224 + 32 + 876 + 48 + 3088 + 68);
    // c1 3·3·3·4+4, b1 4·4, c2 3·3·4·6+6, b2 4·6, d1 16·6·8+8, out 8·4+4
    expect(paramCount(pruned)).toBe(112 + 16 + 222 + 24 + 776 + 36);
    expect(pruned.layers.map((l) => l.name)).toEqual(model.layers.map((l) => l.name));
    silenced(model, groups, keep);
    expectSameOutputs(model, pruned, [8, 8, 3]);
  });

  it('keeps the largest filters by L1 norm', () => {
    const model = sequentialModel();
    const c1 = model.getLayer('c1');
    const scale = tf.tensor1d([1, 9, 2, 8, 3, 7, 4, 6]);
    c1.setWeights([tf.mul(tf.onesLike(c1.getWeights()[0]), scale), c1.getWeights()[1]]);
    const keep = tracedKeepSets(model, traceModel(model), { criterion: 'l1', ratio: 0.5 });
    expect(keep.c1).toEqual([1, 3, 5, 7]);
  });
});

describe('tracing a functional model', () => {
  it('ties the residual Add\'s groups, offsets the Concatenate, and never prunes the input or the output', () => {
    const groups = traceModel(functionalModel());
    expect(groups.map((g) => [g.id, g.size, g.fixed ?? 'prunable'])).toEqual([
      ['input:image', 4, 'the model input'], ['stem', 8, 'prunable'], ['side', 4, 'prunable'],
      ['head', 3, 'a model output'],
    ]);
    expect(members(byId(groups, 'stem')).sort()).toEqual(
      ['head:in@0', 'r1:in@0', 'r1:out@0', 'r1_bn:bn@0', 'stem:out@0', 'stem_bn:bn@0']);
    expect(members(byId(groups, 'side')).sort()).toEqual(['head:in@8', 'side:out@0', 'side_bn:bn@0'].sort());
  });

  it.each([['l1', 0.3], ['l1', 0.5], ['bn-scale', 0.3], ['bn-scale', 0.5]] as const)(
    'prunes by %s at %s: a plain LayersModel that round-trips model.json and matches the silenced original',
    async (criterion, ratio) => {
      const model = functionalModel();
      const groups = traceModel(model);
      const keep = tracedKeepSets(model, groups, { criterion, ratio });
      const pruned = await pruneTracedModel(model, groups, keep);
      expect(paramCount(pruned)).toBeLessThan(paramCount(model));
      const loaded = await savedAndReloaded(pruned);
      silenced(model, groups, keep);
      expectSameOutputs(model, loaded, [8, 8, 4]);
    });
});

describe('layers that mix or share channels', () => {
  it('ties a shared layer\'s inputs at every use, so one cut of its kernel fits both', async () => {
    const input = tf.input({ shape: [6, 6, 2] });
    const p = tf.layers.conv2d({ name: 'p', filters: 4, kernelSize: 1 }).apply(input) as tf.SymbolicTensor;
    const q = tf.layers.conv2d({ name: 'q', filters: 4, kernelSize: 1 }).apply(input) as tf.SymbolicTensor;
    const shared = tf.layers.conv2d({ name: 'shared', filters: 3, kernelSize: 1 });
    const joined = tf.layers.concatenate({ name: 'j' }).apply([shared.apply(p), shared.apply(q)] as tf.SymbolicTensor[]);
    const out = tf.layers.dense({ name: 'out', units: 2 }).apply(
      tf.layers.globalAveragePooling2d({ name: 'gap' }).apply(joined) as tf.SymbolicTensor) as tf.SymbolicTensor;
    const model = tf.model({ inputs: input, outputs: out });
    const groups = traceModel(model);
    // p and q feed the same kernel: one group (named after whichever the tie kept as its root).
    expect(groups.slice(1).map((g) => [g.id, g.fixed ?? 'prunable'])).toEqual(
      [['q', 'prunable'], ['shared', 'prunable'], ['out', 'a model output']]);
    expect(groups[1].members.map((m) => `${m.layer}:${m.role}`).sort()).toEqual(['p:out', 'q:out', 'shared:in']);
    const keep = tracedKeepSets(model, groups, { criterion: 'l1', ratio: 0.5 });
    expect(Object.keys(keep).sort()).toEqual(['q', 'shared']);
    const pruned = await pruneTracedModel(model, groups, keep);
    expect(pruned.getLayer('shared').getWeights()[0].shape).toEqual([1, 1, 2, 2]);
    silenced(model, groups, keep);
    expectSameOutputs(model, pruned, [6, 6, 2]);
  });

  it('fixes the channels a softmax normalises over', () => {
    const model = tf.sequential({ layers: [
      tf.layers.dense({ name: 'h', inputShape: [5], units: 6 }),
      tf.layers.activation({ name: 'sm', activation: 'softmax' }),
      tf.layers.dense({ name: 'out', units: 2 }),
    ] });
    expect(traceModel(model).find((g) => g.id === 'h')?.fixed).toBe('sm normalises over its channels');
  });

  it('ranks bn-scale by γ alone: a BN without γ has no say, and a tied group scores the mean over its BNs', () => {
    const model = functionalModel();
    const groups = traceModel(model);
    // Every γ 0.6: the tied stem/r1 group (two BNs) must not outrank the side group (one BN) by summing.
    for (const name of ['stem_bn', 'r1_bn', 'side_bn']) {
      const bn = model.getLayer(name);
      bn.setWeights(bn.getWeights().map((w, i) => (i === 0 ? tf.fill(w.shape, 0.6) : w)));
    }
    const keep = tracedKeepSets(model, groups, { criterion: 'bn-scale', ratio: 0.5 });
    expect([keep.stem.length / 8, keep.side.length / 4]).toEqual([1, 1]);
    const noGamma = tf.sequential({ layers: [
      tf.layers.conv2d({ name: 'c', inputShape: [4, 4, 1], filters: 4, kernelSize: 1 }),
      tf.layers.batchNormalization({ name: 'bn', scale: false }),
      tf.layers.flatten({ name: 'f' }), tf.layers.dense({ name: 'out', units: 2 }),
    ] });
    expect(() => tracedKeepSets(noGamma, traceModel(noGamma), { criterion: 'bn-scale', ratio: 0.5 }))
      .toThrow(/no prunable channels/);
  });
});

describe('what the tracer refuses', () => {
  it('names an unknown layer by class and name; as a barrier, the channels around it stay', () => {
    const input = tf.input({ shape: [8, 8, 3] });
    const c1 = tf.layers.conv2d({ name: 'c1', filters: 4, kernelSize: 3 }).apply(input) as tf.SymbolicTensor;
    const up = tf.layers.conv2dTranspose({ name: 'up', filters: 4, kernelSize: 2 }).apply(c1) as tf.SymbolicTensor;
    const c2 = tf.layers.conv2d({ name: 'c2', filters: 2, kernelSize: 1 }).apply(up) as tf.SymbolicTensor;
    const model = tf.model({ inputs: input, outputs: c2 });
    const error = (() => { try { traceModel(model); } catch (e) { return e; } })() as UnsupportedLayerError;
    expect(error).toBeInstanceOf(UnsupportedLayerError);
    expect([error.className, error.layerName]).toEqual(['Conv2DTranspose', 'up']);
    const groups = traceModel(model, { barriers: true });
    expect(byId(groups, 'c1').fixed).toBe('barrier up (Conv2DTranspose)');
  });

  it('says so when the only prunable channels would be the outputs', () => {
    const model = tf.sequential({ layers: [tf.layers.dense({ name: 'only', inputShape: [5], units: 3 })] });
    expect(() => tracedKeepSets(model, traceModel(model), { criterion: 'l1', ratio: 0.5 }))
      .toThrow(/no prunable channels: .*a model output/);
  });
});

/** Keras's own applications as Keras 3.15 writes them (tools/keras3-fixtures.py, weights=None, 32×32 input, 10 classes). */
const keras3Topology = (name: string) =>
  JSON.parse(fs.readFileSync(path.join(__dirname, 'fixtures', `keras3-${name}.json`), 'utf8'));

describe('Keras 3 models no one here wrote', () => {
  it('fail in tfjs as they are (the InputLayer error tfjs users report) and load after translation', async () => {
    const topology = keras3Topology('mobilenetv2');
    expect(isKeras3Config(topology)).toBe(true);
    await expect(tf.models.modelFromJSON(topology)).rejects.toThrow(/InputLayer should be passed either a `batchInputShape`/);
    const translated = keras3ToTfjs(topology);
    expect(isKeras3Config(translated)).toBe(false);
  });

  it('read from a model.json whose topology is Keras 3\'s as written (readLayersModel translates it)', async () => {
    const topology = keras3Topology('mobilenetv2');
    const model = await tf.models.modelFromJSON({ modelTopology: keras3ToTfjs(topology) } as never);
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'keras3-'));
    await writeModelFiles(dir, model);
    const file = path.join(dir, 'model.json');
    fs.writeFileSync(file, JSON.stringify({ ...JSON.parse(fs.readFileSync(file, 'utf8')), modelTopology: topology }));
    const loaded = await readLayersModel(dir);
    expect(loaded.countParams()).toBe(423018);
    expectSameOutputs(model, loaded, [32, 32, 3]);
  });

  // Parameter counts as Keras's count_params() printed them when the fixtures were written.
  it.each([['mobilenetv2', 423018], ['resnet50', 23608202], ['densenet121', 7047754]])(
    '%s: the translated topology has Keras\'s %i parameters; pruned by L1 at 30%% and by BN scale at 50%%, it saves, ' +
    'loads with tf.loadLayersModel and matches the silenced original', async (name, params) => {
      const model = await tf.models.modelFromJSON(
        { modelTopology: keras3ToTfjs(keras3Topology(name)) } as unknown as Parameters<typeof tf.models.modelFromJSON>[0]);
      expect(model.countParams()).toBe(params);
      randomiseStatistics(model);
      const groups = traceModel(model);
      for (const [criterion, ratio] of [['l1', 0.3], ['bn-scale', 0.5]] as const) {
        const keep = tracedKeepSets(model, groups, { criterion, ratio });
        const pruned = await pruneTracedModel(model, groups, keep);
        expect(paramCount(pruned)).toBeLessThan(paramCount(model));
        const loaded = await savedAndReloaded(pruned);
        const copy = await tf.models.modelFromJSON(
          { modelTopology: keras3ToTfjs(keras3Topology(name)) } as unknown as Parameters<typeof tf.models.modelFromJSON>[0]);
        copy.setWeights(model.getWeights());
        silenced(copy, groups, keep);
        expectSameOutputs(copy, loaded, [32, 32, 3]);
      }
    }, 120_000);
});
