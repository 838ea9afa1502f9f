import * as tf from '@tensorflow/tfjs';
import type { Tensor } from '@tensorflow/tfjs';

/** Identity forward, zero gradient: PyTorch's `x.data` (tfjs has no stopGradient op). */
export const stopGradient = tf.customGrad((...args: Array<Tensor | tf.GradSaveFunc>) => {
  const x = args[0] as Tensor;
  return { value: tf.clone(x), gradFunc: (dy: Tensor | Tensor[]) => tf.zerosLike(dy as Tensor) };
}) as (x: Tensor) => Tensor;

type Kwargs = Record<string, unknown>;

/** tf.layers' Conv2D class (not exported by tfjs), to extend. */
const StockConv2D = Object.getPrototypeOf(tf.layers.conv2d({ filters: 1, kernelSize: 1 })).constructor as
  new (args: Parameters<typeof tf.layers.conv2d>[0]) => tf.layers.Layer;

/**
 * tf.layers' Conv2D (same class name, so a saved model.json holds a stock Conv2D) that passes no gradient to
 * its input, in training and inference alike. Models built by buildModel use it; a model loaded with plain
 * tf.loadLayersModel gets the stock Conv2D, which gives the same outputs.
 */
export class StopGradientConv2D extends StockConv2D {
  override call(inputs: Tensor | Tensor[], kwargs: Kwargs): Tensor | Tensor[] {
    const x = Array.isArray(inputs) ? inputs[0] : inputs;
    return tf.tidy(() => super.call(stopGradient(x), kwargs));
  }
}
