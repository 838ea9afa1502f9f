import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { namedSpec } from '../spec';
import { setUpTestBackends, TEST_BACKENDS, useBackend } from '../test-util/backends';
import { randomArray, seededRandom } from '../test-util/naive-conv';
import { buildResNet, type ResNetSpec } from './resnet';

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
    const model = buildResNet({ ...spec, form: 'sfp' }, 3);
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
