import * as tf from '@tensorflow/tfjs';
import type { Tensor } from '@tensorflow/tfjs';
import { nativeKernelActive, SELECTION_GRAD } from '../backend/kernels/native-training-ops';
import { isRectified, markRectified } from './fused-relu';
import type { Sym } from './layers';

type Kwargs = Record<string, unknown>;

/** tf.layers' Conv2D class (not exported by tfjs), to extend. */
const StockConv2D = Object.getPrototypeOf(tf.layers.conv2d({ filters: 1, kernelSize: 1 })).constructor as
  new (args: Parameters<typeof tf.layers.conv2d>[0]) => tf.layers.Layer;

/** For each of `channels` input channels, the column of a selection's output it came from, or −1 if dropped. */
function sourceColumns(kept: number[], channels: number): number[] {
  const source = new Array<number>(channels).fill(-1);
  kept.forEach((c, j) => { source[c] = j; });
  return source;
}

/** The channels `kept` of x (NHWC), in order; the gradient puts dy back on them and zero elsewhere. */
function gatherChannels(x: Tensor, kept: number[]): Tensor {
  const source = sourceColumns(kept, x.shape[x.rank - 1]);
  const op = tf.customGrad((...args: Array<Tensor | tf.GradSaveFunc>) => {
    const x = args[0] as Tensor;
    return {
      value: tf.gather(x, kept, x.rank - 1),
      gradFunc: (dy: Tensor | Tensor[]) => tf.tidy(() => {
        const g = dy as Tensor;
        if (nativeKernelActive(SELECTION_GRAD)) return tf.engine().runKernel(SELECTION_GRAD, { dy: g }, { source }) as Tensor;
        // A dropped channel reads the zero column appended after the last.
        const zero = tf.zeros([...g.shape.slice(0, -1), 1]);
        const columns = source.map((j) => (j < 0 ? kept.length : j));
        return tf.gather(tf.concat([g, zero], g.rank - 1), columns, g.rank - 1);
      }),
    };
  });
  return op(x);
}

/**
 * The slimming folder's channel selection (`channel_selection`): picks the BN channels `kept`, in order. Saved as
 * what it is to plain tfjs: a fixed, non-trainable 1×1 Conv2D (same class name and config) whose 0/1 kernel copies
 * input channel kept[j] to output j, so a pruned model loads with tf.loadLayersModel alone. Built by our models,
 * it copies those channels instead of multiplying by the kernel (a 1×1 conv of C×C multiply-adds per pixel, more
 * than the 3×3 conv after it in a DenseNet), and passes its input through where it keeps every channel. A ReLU built
 * on it is applied by the BN before it in training (see fused-relu.ts), since selecting channels commutes with it.
 */
export class ChannelSelection extends StockConv2D {
  readonly kept: number[];

  constructor(name: string, kept: number[]) {
    super({ name, filters: kept.length, kernelSize: 1, useBias: false, trainable: false, kernelInitializer: 'zeros' });
    this.kept = kept;
  }

  /** Set by the ReLU built on this layer: handed to the layer before, which then applies it. */
  set fusedRelu(on: boolean) {
    const source = this.inboundNodes[0]?.inboundLayers[0] as { fusedRelu?: boolean } | undefined;
    if (source && 'fusedRelu' in source) source.fusedRelu = on;
  }

  override call(inputs: Tensor | Tensor[], _kwargs: Kwargs): Tensor | Tensor[] {
    const x = Array.isArray(inputs) ? inputs[0] : inputs;
    const channels = x.shape[x.rank - 1];
    const everyChannel = this.kept.length === channels && this.kept.every((c, i) => c === i);
    // A new tensor object either way (a reshape copies nothing): tf.layers may dispose the input after this layer.
    const y = everyChannel ? tf.reshape(x, x.shape) : gatherChannels(x, this.kept);
    if (isRectified(x)) markRectified(y);
    return y;
  }
}

/** A channel selection of `kept` (channel indices, increasing) on x. */
export function selectionLayer(x: Sym, name: string, kept: number[]): Sym {
  return new ChannelSelection(name, kept).apply(x) as Sym;
}

/** Writes the 0/1 kernel of every channel selection of `model` (what plain tfjs runs): output j is input kept[j]. */
export function setSelections(model: tf.LayersModel): void {
  for (const layer of model.layers) {
    if (!(layer instanceof ChannelSelection)) continue;
    const channels = (layer.getWeights()[0].shape as number[])[2];
    const kernel = tf.tidy(() => tf.oneHot(tf.tensor1d(layer.kept, 'int32'), channels).toFloat().transpose()
      .reshape([1, 1, channels, layer.kept.length]));
    layer.setWeights([kernel]);
    kernel.dispose();
  }
}
