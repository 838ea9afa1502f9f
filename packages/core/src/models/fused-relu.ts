import * as tf from '@tensorflow/tfjs';
import type { Tensor } from '@tensorflow/tfjs';
import { ADD_RELU, nativeKernelActive, RELU_GRAD } from '../backend/kernels/native-training-ops';

/**
 * A ReLU folded into the layer before it in training mode: that layer (a BatchNormalization, a residual Add) applies
 * it in its own kernel and marks its output, and the ReLU layer passes marked tensors through. One pass over the
 * activation, one buffer and one kernel call less each way; the same values and gradients. The graph keeps its ReLU
 * layers (names, pruning, saved models), and inference runs them as before.
 */

type Kwargs = Record<string, unknown>;

/** A layer that can apply the ReLU after it: the ReLU below sets `fusedRelu` when it is built on its output. */
interface ReluFusing {
  fusedRelu: boolean;
}

/** Training-mode outputs that a layer rectified in place of the ReLU after it. */
const rectified = new WeakSet<Tensor>();

export function markRectified(t: Tensor): void {
  rectified.add(t);
}

export function isRectified(t: Tensor): boolean {
  return rectified.has(t);
}

/** tf.layers' ReLU and Add classes (not exported by tfjs), to extend. */
const StockReLU = Object.getPrototypeOf(tf.layers.reLU({})).constructor as
  new (args: Parameters<typeof tf.layers.reLU>[0]) => tf.layers.Layer;
const StockAdd = Object.getPrototypeOf(tf.layers.add({})).constructor as
  new (args: Parameters<typeof tf.layers.add>[0]) => tf.layers.Layer;

/** tf.layers' ReLU (same class name and config) that lets the layer it is built on apply it in training mode. */
export class ReLU extends StockReLU {
  override apply(inputs: tf.SymbolicTensor | tf.SymbolicTensor[] | Tensor | Tensor[], kwargs?: Kwargs) {
    const source = (Array.isArray(inputs) ? inputs[0] : inputs) as tf.SymbolicTensor;
    const layer = source.sourceLayer as Partial<ReluFusing> | undefined;
    if (layer && 'fusedRelu' in layer) layer.fusedRelu = true;
    return super.apply(inputs, kwargs);
  }

  override call(inputs: Tensor | Tensor[], kwargs: Kwargs): Tensor | Tensor[] {
    const x = Array.isArray(inputs) ? inputs[0] : inputs;
    return kwargs.training && isRectified(x) ? x : super.call(inputs, kwargs);
  }
}

/** max(a + b, 0) in one native pass; its gradient is the ReLU's, handed to both inputs. */
function addRelu(a: Tensor, b: Tensor): Tensor {
  const op = tf.customGrad((...args: Array<Tensor | tf.GradSaveFunc>) => {
    const [a, b] = args as Tensor[];
    const y = tf.engine().runKernel(ADD_RELU, { a, b }) as Tensor;
    (args[2] as tf.GradSaveFunc)([y]);
    return {
      value: y,
      gradFunc: (dy: Tensor | Tensor[], [y]: Tensor[]) => {
        const g = tf.engine().runKernel(RELU_GRAD, { dy: dy as Tensor, x: y }) as Tensor;
        return [g, tf.clone(g)];
      },
    };
  });
  return op(a, b);
}

/**
 * tf.layers' Add (same class name and config). With `fusedRelu`, the ReLU after it its only consumer, two inputs
 * of one float32 shape and the native kernels active, training mode sums and rectifies in one pass.
 */
export class Add extends StockAdd implements ReluFusing {
  fusedRelu = false;

  override call(inputs: Tensor | Tensor[], kwargs: Kwargs): Tensor | Tensor[] {
    const [a, b, ...more] = Array.isArray(inputs) ? inputs : [inputs];
    const fuse = kwargs.training && this.fusedRelu && this.outboundNodes.length === 1 && b && more.length === 0
      && a.dtype === 'float32' && b.dtype === 'float32' && tf.util.arraysEqual(a.shape, b.shape)
      && [ADD_RELU, RELU_GRAD].every(nativeKernelActive);
    if (!fuse) return super.call(inputs, kwargs);
    const y = addRelu(a, b);
    markRectified(y);
    return y;
  }
}
