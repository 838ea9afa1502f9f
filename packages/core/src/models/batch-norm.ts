import * as tf from '@tensorflow/tfjs';
import type { Tensor } from '@tensorflow/tfjs';
import {
  BATCH_NORM_TRAIN, BATCH_NORM_TRAIN_GRAD, MOVING_AVERAGES, nativeKernelActive,
} from '../backend/kernels/native-training-ops';
import { markRectified } from './fused-relu';

/**
 * Training-mode batch norm over every axis but the last, as one node of the gradient tape with a closed-form
 * gradient. tf.layers builds it from moments + batchNorm, whose gradients take some twenty full-size passes
 * (a Mean gradient alone multiplies by a tensor of ones); this takes five forward and six backward.
 *   x̂ = (x−m)·r, r = 1/√(v+ε), y = γ·x̂ + β
 *   ∂x = γr·(dy − Σdy/n − (x−m)·r²·Σdy(x−m)/n),  ∂γ = r·Σdy(x−m),  ∂β = Σdy
 * Returns the batch mean and (biased) variance too, for the moving averages. With `relu`, y is max(y, 0): the
 * ReLU after the norm, in the same kernels where the backend has them.
 */
export function batchNormTraining(x: Tensor, gamma: Tensor, beta: Tensor, epsilon: number, relu = false):
  { y: Tensor; mean: Tensor; variance: Tensor } {
  const fused = [BATCH_NORM_TRAIN, BATCH_NORM_TRAIN_GRAD].every(nativeKernelActive) && x.dtype === 'float32';
  if (fused) return batchNormTrainingFused(x, gamma, beta, epsilon, relu);
  const normed = batchNormTrainingComposed(x, gamma, beta, epsilon);
  return relu ? { ...normed, y: tf.relu(normed.y) } : normed;
}

/**
 * The same, as two kernels of the backend (the native addon's): one forward pass, one backward; with `relu` the
 * backward takes the ReLU's output y and masks dy by it, as the ReLU's own gradient would.
 */
function batchNormTrainingFused(x: Tensor, gamma: Tensor, beta: Tensor, epsilon: number, relu: boolean):
  { y: Tensor; mean: Tensor; variance: Tensor } {
  let stats: [Tensor, Tensor] | undefined;
  const op = tf.customGrad((...args: Array<Tensor | tf.GradSaveFunc>) => {
    const [x, gamma, beta] = args as Tensor[];
    const save = args[3] as tf.GradSaveFunc;
    const [y, mean, variance] = tf.engine().runKernel(BATCH_NORM_TRAIN, { x, gamma, beta }, { epsilon, relu }) as Tensor[];
    stats = [tf.keep(mean), tf.keep(variance)];
    save(relu ? [x, mean, variance, gamma, y] : [x, mean, variance, gamma]);
    return {
      value: y,
      gradFunc: (dy: Tensor | Tensor[], saved: Tensor[]) => {
        const [x, mean, variance, gamma, y] = saved;
        return tf.engine().runKernel(BATCH_NORM_TRAIN_GRAD, { dy: dy as Tensor, x, mean, variance, gamma, ...(y ? { y } : {}) },
          { epsilon }) as Tensor[];
      },
    };
  });
  const y = op(x, gamma, beta);
  const [mean, variance] = stats!;
  return { y, mean, variance };
}

function batchNormTrainingComposed(x: Tensor, gamma: Tensor, beta: Tensor, epsilon: number):
  { y: Tensor; mean: Tensor; variance: Tensor } {
  const axes = x.shape.slice(0, -1).map((_, i) => i);
  const n = x.size / x.shape[x.rank - 1];
  let stats: [Tensor, Tensor] | undefined;
  const op = tf.customGrad((...args: Array<Tensor | tf.GradSaveFunc>) => {
    const [x, gamma, beta] = args as Tensor[];
    const save = args[3] as tf.GradSaveFunc;
    const mean = tf.mean(x, axes);
    const xc = tf.sub(x, mean);
    const variance = tf.mean(tf.square(xc), axes);
    stats = [tf.keep(mean), tf.keep(variance)];
    save([xc, variance, gamma]);
    return {
      value: tf.batchNorm(x, mean, variance, beta, gamma, epsilon),
      gradFunc: (dy: Tensor | Tensor[], saved: Tensor[]) => {
        const g = dy as Tensor;
        const [xc, variance, gamma] = saved;
        const r = tf.rsqrt(tf.add(variance, epsilon));
        const sumDy = tf.sum(g, axes);
        const sumDyXc = tf.sum(tf.mul(g, xc), axes);
        const a = tf.mul(gamma, r);
        // b·(x−m) + c in one pass: batchNorm with mean 0 and a variance that makes its rsqrt 1.
        const b = tf.mul(a, tf.mul(tf.square(r), sumDyXc)).mul(-1 / n);
        const c = tf.mul(a, sumDy).mul(-1 / n);
        const rest = tf.batchNorm(xc, tf.zerosLike(variance), tf.onesLike(variance).sub(epsilon), c, b, epsilon);
        return [tf.add(tf.mul(g, a), rest), tf.mul(r, sumDyXc), sumDy];
      },
    };
  });
  const y = op(x, gamma, beta);
  const [mean, variance] = stats!;
  return { y, mean, variance };
}

type Kwargs = Record<string, unknown>;

/** tf.layers' BatchNormalization class (not exported by tfjs), to extend. */
const StockBatchNormalization = Object.getPrototypeOf(tf.layers.batchNormalization({})).constructor as
  new (args: Parameters<typeof tf.layers.batchNormalization>[0]) => tf.layers.Layer;

/**
 * tf.layers' BatchNormalization (same class name, weights, moving-average rule and inference path) whose
 * training-mode forward uses batchNormTraining. `fusedRelu` (set by fused-relu.ts' ReLU when it is built on this
 * layer's output) applies that ReLU here in training mode, where the ReLU is this layer's only consumer: one pass, one
 * buffer and one kernel less each way.
 */
export class BatchNormalization extends StockBatchNormalization {
  fusedRelu = false;

  override call(inputs: Tensor | Tensor[], kwargs: Kwargs): Tensor | Tensor[] {
    const self = this as any;
    const x = Array.isArray(inputs) ? inputs[0] : inputs;
    const lastAxis = self.axis === -1 || self.axis === x.rank - 1;
    if (!kwargs.training || !lastAxis || !self.scale || !self.center) return super.call(inputs, kwargs);
    const relu = this.fusedRelu && this.outboundNodes.length === 1;
    return tf.tidy(() => {
      const { y, mean, variance } = batchNormTraining(x, self.gamma.read(), self.beta.read(), self.epsilon, relu);
      if (relu) markRectified(y);
      const moving = [self.movingMean, self.movingVariance];
      if (nativeKernelActive(MOVING_AVERAGES)) {
        // Both updates in one native call (the tf ops below are six kernels), the same float32 rounding.
        const updated = tf.engine().runKernel(MOVING_AVERAGES, { movingMean: moving[0].read(),
          movingVariance: moving[1].read(), mean, variance }, { momentum: self.momentum }) as Tensor[];
        moving.forEach((variable, i) => variable.write(updated[i]));
      } else {
        for (const [variable, value] of [[moving[0], mean], [moving[1], variance]]) {
          const old = variable.read() as Tensor;
          variable.write(tf.sub(old, tf.mul(tf.sub(old, value), 1 - self.momentum)));
        }
      }
      tf.dispose([mean, variance]);
      return y;
    });
  }
}
