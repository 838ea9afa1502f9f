import * as tf from '@tensorflow/tfjs';
import type { GradConfig, NamedAttrMap, Tensor } from '@tensorflow/tfjs';

/**
 * The FusedBatchNorm gradient in closed form. tfjs-core's version tiles rsqrt(var) to the full
 * activation shape and makes several full-size passes; this one broadcasts a per-channel factor and
 * makes three: dy·(s·r), dy·(x−m) and the two channel sums.
 *   y = (x−m)·s·r + o,  r = 1/√(v+ε)
 *   ∂x = dy·s·r   ∂m = −s·r·Σdy   ∂v = −½·s·r³·Σdy(x−m)   ∂s = r·Σdy(x−m)   ∂o = Σdy
 */
export const batchNormGradConfig: GradConfig = {
  kernelName: 'FusedBatchNorm',
  inputsToSave: ['x', 'mean', 'variance', 'scale'],
  gradFunc: (dy: Tensor | Tensor[], saved: Tensor[], attrs: NamedAttrMap) => {
    const g = dy as Tensor;
    const [x, mean, variance, scale] = saved;
    const eps = attrs.varianceEpsilon as number;
    const s = scale ?? tf.scalar(1);
    const axes = tf.backend_util.getReductionAxes(mean.shape, x.shape);
    const channelSum = (t: Tensor) => (axes.length > 0 ? tf.sum(t, axes) : t).reshape(mean.shape);
    const r = tf.rsqrt(tf.add(variance, eps));
    const sr = tf.mul(s, r);
    // Shared by several inputs' gradients; computed once here, inside the engine's backward scope.
    const sumDy = channelSum(g);
    const sumDyXc = channelSum(tf.mul(g, tf.sub(x, mean)));
    return {
      x: () => tf.mul(g, sr),
      mean: () => tf.neg(tf.mul(sr, sumDy)),
      variance: () => tf.mul(tf.mul(sr, tf.mul(r, r)), tf.mul(sumDyXc, -0.5)),
      scale: () => tf.mul(sumDyXc, r).reshape(s.shape),
      offset: () => sumDy.clone(),
    };
  },
};
