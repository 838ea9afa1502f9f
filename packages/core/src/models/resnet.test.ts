import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { countSpec } from '../pruning/counting';
import type { SpecError } from '../errors';
import { channelGroups, residualTies } from '../pruning/graph';
import { loadModelDir, saveModelDir } from '../model-io';
import { namedSpec, validateSpec } from '../spec';
import { setUpTestBackends, TEST_BACKENDS, useBackend } from '../test-util/backends';
import { randomArray, seededRandom } from '../test-util/naive-conv';
import { buildResNet, type ResNetSpec } from './resnet';
import { SFP_RESNET } from '../test-util/folder-forms';

beforeAll(setUpTestBackends);

const spec = namedSpec('resnet20') as ResNetSpec;

/** Zeroes a block's main branch: bn2 γ = β = 0, so its output and the gradient through it are exactly 0. */
function silenceMainBranch(model: tf.LayersModel, block: string): void {
  const bn = model.getLayer(`${block}.bn2`);
  const [gamma, beta, mean, variance] = bn.getWeights();
  bn.setWeights([tf.zerosLike(gamma), tf.zerosLike(beta), mean, variance]);
}

/** Largest |gradient| of the summed training-mode logits for each named layer's trainable weights. */
function largestGradients(model: tf.LayersModel, layers: string[], input: tf.Tensor): number[] {
  return tf.tidy(() => {
    const variablesOf = layers.map((name) =>
      model.getLayer(name).trainableWeights.map((weight) => (weight as any).val as tf.Variable));
    const loss = () => tf.sum(model.apply(input, { training: true }) as tf.Tensor) as tf.Scalar;
    const { grads } = tf.variableGrads(loss, variablesOf.flat());
    const largest = (variable: tf.Variable) => tf.max(tf.abs(grads[variable.name])).dataSync()[0];
    return variablesOf.map((variables) => Math.max(...variables.map(largest)));
  });
}

const input = (rand: () => number) => tf.tensor4d(randomArray(rand, 2 * 32 * 32 * 3), [2, 32, 32, 3]);

describe.each(TEST_BACKENDS)('CIFAR ResNet zero-padding shortcut on %s', (backend) => {
  it('passes no gradient (seed: x.data): with the main branch silenced, earlier layers get 0', async () => {
    await useBackend(backend);
    const model = buildResNet(spec, 3);
    silenceMainBranch(model, 'layer2.0'); // the first block of stage 2, whose shortcut pools and pads
    const before = ['conv1', 'bn1', 'layer1.0.conv1', 'layer1.2.conv2', 'layer1.2.bn2'];
    const [after, ...grads] = largestGradients(model, ['layer2.1.conv1', ...before], input(seededRandom(1)));
    expect(grads).toEqual(before.map(() => 0));
    expect(after).toBeGreaterThan(1e-6); // layers after the block still learn
    model.dispose();
  });

  it('an identity shortcut still passes gradient to the layers before it', async () => {
    await useBackend(backend);
    const model = buildResNet(spec, 3);
    silenceMainBranch(model, 'layer1.1'); // same width, identity shortcut
    const grads = largestGradients(model, ['conv1', 'layer1.0.conv1'], input(seededRandom(2)));
    for (const g of grads) expect(g).toBeGreaterThan(1e-6);
    model.dispose();
  });
});

describe.each(TEST_BACKENDS)('SFP ResNet (form sfp) on %s', (backend) => {
  it('its shortcut subsamples x[::2, ::2], pads zero channels and passes the gradient', async () => {
    await useBackend(backend);
    const model = buildResNet({ ...spec, ...SFP_RESNET }, 3);
    const pool = model.getLayer('layer2.0.downsample').getConfig() as { poolSize: number[]; strides: number[] };
    expect([pool.poolSize, pool.strides]).toEqual([[1, 1], [2, 2]]); // AvgPool2d(kernel 1, stride 2)
    silenceMainBranch(model, 'layer2.0');
    const before = ['conv1', 'layer1.0.conv1', 'layer1.2.conv2'];
    const grads = largestGradients(model, before, input(seededRandom(4)));
    for (const g of grads) expect(g).toBeGreaterThan(1e-6); // unlike the l1-norm folder's x.data shortcut
    // Its fc is Kaiming-normal (std √(2/64) ≈ 0.177), not PyTorch's uniform ±1/8 (std 0.072).
    const fc = Array.from(model.getLayer('fc').getWeights()[0].dataSync());
    const std = Math.sqrt(fc.reduce((a, w) => a + w * w, 0) / fc.length);
    expect(std).toBeGreaterThan(0.13);
    expect(std).toBeLessThan(0.23);
    model.dispose();
  });
});

describe('CIFAR ResNet saved as stock tfjs layers', () => {
  it('saves the shortcut as a stock Conv2D that tf.loadLayersModel reads; identical logits', async () => {
    await useBackend('cpu');
    const model = buildResNet(spec, 4);
    type Topology = { config: { layers: Array<{ name: string; class_name: string }> } };
    const topology = model.toJSON(null, false) as Topology;
    const shortcut = topology.config.layers.find((layer) => layer.name === 'layer2.0.shortcut');
    expect(shortcut?.class_name).toBe('Conv2D');
    let saved: tf.io.ModelArtifacts | undefined;
    await model.save(tf.io.withSaveHandler(async (artifacts) => {
      saved = artifacts;
      return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } };
    }));
    const loaded = await tf.loadLayersModel(tf.io.fromMemory(saved!));
    expect(loaded.getLayer('layer2.0.shortcut').getClassName()).toBe('Conv2D');
    const x = input(seededRandom(3));
    const ours = (model.predict(x) as tf.Tensor).dataSync();
    const stock = (loaded.predict(x) as tf.Tensor).dataSync();
    expect(Array.from(ours)).toEqual(Array.from(stock));
    const tensorsBefore = tf.memory().numTensors;
    tf.dispose([model.predict(x) as tf.Tensor, model.apply(x, { training: true }) as tf.Tensor]);
    expect(tf.memory().numTensors).toBe(tensorsBefore); // the stop-gradient step leaks nothing
    model.dispose();
    loaded.dispose();
  });
});

describe('CIFAR ResNet with blocks per stage and block scales (Sparse Structure Selection)', () => {
  /** ResNet-20 at a quarter width, one λ per block. */
  const scaled: ResNetSpec = {
    arch: 'resnet', dataset: 'cifar10', depth: 20, stageWidths: [4, 8, 16], cfg: [4, 4, 4, 8, 8, 8, 16, 16, 16],
    blockScales: true,
  };
  const problemsOf = (candidate: object) => {
    try {
      validateSpec(candidate);
      return [];
    } catch (e) {
      return (e as SpecError).problems;
    }
  };

  it('rejects bad blocks, a cfg of the wrong length for them, and a non-boolean blockScales', () => {
    const range = 'give three block counts, the first 0..3 and the others 1..3 (ResNet-20 has 3 per stage';
    expect(problemsOf({ ...spec, blocks: [4, 3, 3] })).toEqual(
      [expect.stringContaining(`blocks: [4,3,3]; ${range}`)]);
    expect(problemsOf({ ...spec, blocks: [3, 0, 3] })[0]).toContain(`blocks: [3,0,3]; ${range}`);
    expect(problemsOf({ ...spec, blocks: [3, 3] })[0]).toContain('blocks: [3,3]; give three block counts');
    expect(problemsOf({ ...spec, blocks: [1.5, 3, 3] })[0]).toContain('blocks: [1.5,3,3]');
    expect(problemsOf({ ...spec, blocks: [1, 2, 3] })).toEqual(
      ['cfg: blocks [1,2,3] needs 6 inner widths (one per block), got 9']);
    expect(problemsOf({ ...spec, blockScales: 'yes' })).toEqual(
      ['blockScales: "yes"; use true (a λ per block) or omit it']);
    expect(problemsOf({ ...spec, blocks: [0, 1, 1], cfg: [32, 64] })).toEqual([]);
  });

  it('explicit full blocks build the default net; blockScales leaves the channel graph alone', () => {
    const plain = buildResNet(spec, 8);
    const explicit = buildResNet({ ...spec, blocks: [3, 3, 3] }, 8);
    expect(explicit.layers.map((layer) => layer.name)).toEqual(plain.layers.map((layer) => layer.name));
    const kernel = (net: tf.LayersModel) =>
      Array.from(net.getLayer('layer3.2.conv2').getWeights()[0].dataSync());
    expect(kernel(explicit)).toEqual(kernel(plain));
    plain.dispose();
    explicit.dispose();
    const unscaled = { ...scaled, blockScales: undefined };
    expect(channelGroups(scaled)).toEqual(channelGroups(unscaled));
    expect(residualTies(scaled)).toEqual(residualTies(unscaled));
    const pruned = { ...unscaled, blocks: [0, 2, 1], cfg: [8, 7, 16] } as ResNetSpec;
    expect(channelGroups(pruned).map((group) => [group.id, group.size, group.specIndex])).toEqual(
      [['layer2.0.conv1', 8, 0], ['layer2.1.conv1', 7, 1], ['layer3.0.conv1', 16, 2]]);
    // Stage 1 without blocks: its channels are the stem's, read by stage 2's first conv and shortcut.
    expect(residualTies(pruned)[0].members.map((member) => member.layer)).toEqual(
      ['conv1', 'bn1', 'layer2.0.conv1', 'layer2.0.shortcut']);
  });

  it('puts λ (init 1) after bn2, before the add; tf.loadLayersModel and loadModelDir keep it', async () => {
    await useBackend('cpu');
    const model = buildResNet(scaled, 4);
    const scale = model.getLayer('layer2.1.scale');
    expect(scale.weights.map((weight) => [weight.originalName, weight.shape, weight.trainable])).toEqual(
      [['layer2.1.scale/lambda', [1], true]]);
    expect(Array.from(scale.getWeights()[0].dataSync())).toEqual([1]);
    expect((scale.input as tf.SymbolicTensor).name).toContain('layer2.1.bn2');
    expect((model.getLayer('layer2.1.add').input as tf.SymbolicTensor[])[0].name).toContain('layer2.1.scale');
    scale.setWeights([tf.tensor1d([0.25])]);
    const x = input(seededRandom(5));
    const logits = Array.from((model.predict(x) as tf.Tensor).dataSync());
    let saved: tf.io.ModelArtifacts | undefined;
    await model.save(tf.io.withSaveHandler(async (artifacts) => {
      saved = artifacts;
      return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } };
    }));
    const stock = await tf.loadLayersModel(tf.io.fromMemory(saved!)); // BlockScale is a registered class
    expect(stock.getLayer('layer2.1.scale').getClassName()).toBe('BlockScale');
    expect(Array.from(stock.getLayer('layer2.1.scale').getWeights()[0].dataSync())).toEqual([0.25]);
    expect(Array.from((stock.predict(x) as tf.Tensor).dataSync())).toEqual(logits);
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'resnet-scales-'));
    await saveModelDir(dir, model, scaled);
    const loaded = await loadModelDir(dir);
    expect(loaded.spec).toEqual(scaled);
    expect(Array.from(loaded.model.getLayer('layer2.1.scale').getWeights()[0].dataSync())).toEqual([0.25]);
    expect(Array.from(loaded.model.getLayer('layer1.0.scale').getWeights()[0].dataSync())).toEqual([1]);
    expect(Array.from((loaded.model.predict(x) as tf.Tensor).dataSync())).toEqual(logits);
    fs.rmSync(dir, { recursive: true });
    [model, stock, loaded.model].forEach((net) => net.dispose());
  });

  it('countSpec of one block per stage with λ matches a hand count (λ: 1 parameter, 1 FLOP/element)', () => {
    const tiny: ResNetSpec = {
      arch: 'resnet', dataset: 'cifar10', depth: 20, blocks: [1, 1, 1], stageWidths: [2, 4, 8], cfg: [1, 2, 3],
      blockScales: true,
    };
    // Parameters: conv k²·Cin·Cout, BN 2·C, λ 1, fc 8·10 + 10.
    const params = [
      3 * 3 * 3 * 2, 2 * 2, // stem conv1, bn1
      9 * 2 * 1, 2 * 1, 9 * 1 * 2, 2 * 2, 1, // layer1.0: conv1, bn1, conv2, bn2, λ
      9 * 2 * 2, 2 * 2, 9 * 2 * 4, 2 * 4, 1, // layer2.0 (its shortcut has no parameters)
      9 * 4 * 3, 2 * 3, 9 * 3 * 8, 2 * 8, 1, // layer3.0
      8 * 10 + 10, // fc
    ];
    // FLOPs: conv 2·k²·Cin·Cout·Ho·Wo, BN 2 and ReLU 1 per element, λ 1 per element, the shortcut's pooling
    // and padding 0, final 8×8 average pool 64 per output, fc 2·8·10 + 10. Maps: 32², 16², 8² positions.
    const flops = [
      2 * 27 * 2 * 1024, 2 * 2 * 1024, 2 * 1024, // stem conv1, bn1, relu
      2 * 9 * 2 * 1 * 1024, 2 * 1 * 1024, 1024, 2 * 9 * 1 * 2 * 1024, 2 * 2 * 1024, 2 * 1024, 2 * 1024,
      2 * 9 * 2 * 2 * 256, 2 * 2 * 256, 2 * 256, 2 * 9 * 2 * 4 * 256, 2 * 4 * 256, 4 * 256, 4 * 256,
      2 * 9 * 4 * 3 * 64, 2 * 3 * 64, 3 * 64, 2 * 9 * 3 * 8 * 64, 2 * 8 * 64, 8 * 64, 8 * 64,
      64 * 8, 2 * 8 * 10 + 10, // avgpool, fc
    ];
    const sum = (terms: number[]) => terms.reduce((total, term) => total + term, 0);
    expect(countSpec(tiny)).toEqual({ params: sum(params), flops: sum(flops) });
  });
});
