import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { buildModel, namedSpec } from '../spec';
import { setUpTestBackends, TEST_BACKENDS, useBackend } from '../test-util/backends';
import { withKernelLog } from '../test-util/kernel-log';
import { randomArray, seededRandom } from '../test-util/naive-conv';
import { narrowSpec } from '../widths';

beforeAll(setUpTestBackends);

/** Loss, gradients, moving statistics after the step and the kernels run, of one training step on a narrow model. */
function trainingStep(name: string, fused: boolean) {
  const model = buildModel(narrowSpec(namedSpec(name), 4), 7);
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

const count = (kernels: string[], name: string) => kernels.filter((k) => k === name).length;

describe.each(TEST_BACKENDS)('ReLUs folded into the BN and residual Add before them, on %s', (backend) => {
  // ReLUs of the unfused model; the residual sums that take theirs (ResNet-20: the stem, 9 blocks' first ReLU and
  // their 9 sums; VGG-11: 8 BN pairs and the classifier's BN; DenseNet-40 and PreResNet-20: every BN → selection →
  // ReLU, 39 and 6·3 + 1).
  const relus: Record<string, { plain: number; sums: number }> = {
    resnet20: { plain: 19, sums: 9 }, vgg11: { plain: 9, sums: 0 },
    densenet40: { plain: 39, sums: 0 }, preresnet20: { plain: 19, sums: 0 },
  };
  it.each(Object.keys(relus))('a %s ÷4 trains to the same loss, gradients and statistics as with every ReLU on its own',
    async (name) => {
      await useBackend(backend);
      const fused = trainingStep(name, true);
      const plain = trainingStep(name, false);
      expect(fused.loss).toBe(plain.loss);
      expect(fused.grads).toEqual(plain.grads);
      expect(fused.statistics).toEqual(plain.statistics);
      // Where the native kernels run, no ReLU kernel of its own is left in training.
      if (backend === 'wasm+native') {
        expect(count(fused.kernels, 'Relu')).toBe(0);
        expect(count(plain.kernels, 'Relu')).toBe(relus[name].plain);
        expect(count(fused.kernels, 'RethinkPruneAddRelu')).toBe(relus[name].sums);
      }
    });
});
