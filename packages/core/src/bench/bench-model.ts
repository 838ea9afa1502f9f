import * as tf from '@tensorflow/tfjs';
import { buildModel, type ArchSpec } from '../spec';
import { collectInitialValues } from '../train/collect-garbage';
import { variableGrads } from '../train/gradients';
import { gradientsByWeightName, Sgd, trainableVariables } from '../train/sgd';

/** The batch every throughput measurement trains on (the seed's CIFAR batch). */
export const BATCH = 64;

/**
 * A model on one random batch, with its training and inference steps; `dispose` frees them all. A training
 * step is the training loop's: gradients of the cross-entropy, then Sgd with the CIFAR recipe's momentum 0.9 and
 * weight decay 1e-4 at LR 0.1, as the PyTorch reference script does.
 */
export function benchModel(spec: ArchSpec) {
  const model = buildModel(spec, 1);
  const sgd = new Sgd(0.9, 1e-4);
  const variables = trainableVariables(model);
  const images = tf.randomNormal([BATCH, 32, 32, 3]);
  const labels = tf.oneHot(tf.randomUniform([BATCH], 0, 10, 'int32') as tf.Tensor1D, 10);
  const lossOf = () =>
    tf.losses.softmaxCrossEntropy(labels, model.apply(images, { training: true }) as tf.Tensor) as tf.Scalar;
  collectInitialValues([...variables.values()]); // as the training loop does before its first step
  const train = () => tf.tidy(() => {
    const { value, grads } = variableGrads(lossOf, [...variables.values()]);
    sgd.step(variables, gradientsByWeightName(variables, grads), 0.1);
    return value.dataSync();
  });
  return {
    model,
    train,
    infer: () => tf.tidy(() => (model.predict(images) as tf.Tensor).dataSync()),
    dispose: () => {
      tf.dispose([images, labels]);
      model.dispose();
      sgd.dispose();
    },
  };
}
