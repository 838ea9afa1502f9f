import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { buildModel, namedSpec, type ArchSpec } from '../spec';
import { setUpTestBackends, TEST_BACKENDS, useBackend } from '../test-util/backends';
import { withKernelLog } from '../test-util/kernel-log';
import { randomArray, seededRandom } from '../test-util/naive-conv';
import { narrowSpec } from '../widths';
import { defaultDenseNetCfg } from './densenet';

beforeAll(setUpTestBackends);

/** Loss, gradients, moving statistics after the step and the kernels run, of one training step on a narrow model. */
function trainingStep(spec: ArchSpec, fused: boolean) {
  const model = buildModel(spec, 7);
  // Unfused: every layer that would apply the ReLU after it leaves it to the ReLU layer, as tf.layers does.
  if (!fused) for (const layer of model.layers) if ('fusedRelu' in layer) (layer as { fusedRelu: boolean }).fusedRelu = false;
  const x = tf.tensor4d(randomArray(seededRandom(2), 2 * 32 * 32 * 3), [2, 32, 32, 3]);
  const { result, kernels } = withKernelLog(() => {
    const variables = model.trainableWeights.map((w) => (w as any).val as tf.Variable);
    const { value, grads } = tf.variableGrads(
      () => tf.sum(tf.square(model.apply(x, { training: true }) as tf.Tensor)) as tf.Scalar, variables);
    const step = {
      loss: value.dataSync()[0],
      grads: variables.map((v) => Array.from(grads[v.name].dataSync())),
      statistics: model.layers.filter((l) => l.getClassName() === 'BatchNormalization')
        .map((l) => l.getWeights().slice(2).map((w) => Array.from(w.dataSync()))),
    };
    tf.dispose([value, ...Object.values(grads), x]);
    return step;
  });
  model.dispose();
  return { ...result, kernels };
}

const denseNet13Shape = { arch: 'densenet', dataset: 'cifar10', depth: 13, growthRate: 3 } as const;
const denseNet13 = { ...denseNet13Shape, cfg: defaultDenseNetCfg(denseNet13Shape) } as ArchSpec;

const count = (kernels: string[], name: string) => kernels.filter((k) => k === name).length;

describe.each(TEST_BACKENDS)('ReLUs folded into the BN and residual Add before them, on %s', (backend) => {
  // The models (÷4), the ReLUs of each unfused and the residual sums that take theirs: ResNet-20 the stem, 9 blocks'
  // first ReLU and their 9 sums; VGG-11 8 BN pairs and the classifier's BN; a slimming DenseNet of depth 13 and
  // PreResNet-20 every BN → channel selection → ReLU (3·3 + 2 + 1 and 6·3 + 1).
  const models: Record<string, { spec: ArchSpec; plain: number; sums: number }> = {
    resnet20: { spec: narrowSpec(namedSpec('resnet20'), 4), plain: 19, sums: 9 },
    vgg11: { spec: narrowSpec(namedSpec('vgg11'), 4), plain: 9, sums: 0 },
    densenet13: { spec: denseNet13, plain: 12, sums: 0 },
    preresnet20: { spec: narrowSpec(namedSpec('preresnet20'), 4), plain: 19, sums: 0 },
  };
  it.each(Object.keys(models))('a %s trains to the same loss, gradients and statistics as with every ReLU on its own',
    async (name) => {
      await useBackend(backend);
      const fused = trainingStep(models[name].spec, true);
      const plain = trainingStep(models[name].spec, false);
      expect(fused.loss).toBe(plain.loss);
      expect(fused.grads).toEqual(plain.grads);
      expect(fused.statistics).toEqual(plain.statistics);
      // Where the native kernels run, no ReLU kernel of its own is left in training.
      if (backend === 'wasm+native') {
        expect(count(fused.kernels, 'Relu')).toBe(0);
        expect(count(plain.kernels, 'Relu')).toBe(models[name].plain);
        expect(count(fused.kernels, 'RethinkPruneAddRelu')).toBe(models[name].sums);
      }
    });
});
