import * as tf from '@tensorflow/tfjs';
import type { KernelConfig, KernelFunc, TensorInfo } from '@tensorflow/tfjs';
import { KernelComposer } from './compose';
import { nativeKernelsEnabled, type NativeConv } from './native-conv';

/**
 * The memory-bound rest of a training step in the native addon (native/training-ops.cc), beside its
 * convolutions: training batch norm forward and backward as one kernel each, the ReLU gradient, MaxPoolGrad and
 * the SGD update. models/batch-norm.ts, relu-grad.ts and train/sgd.ts use them where the backend has them.
 */
export const BATCH_NORM_TRAIN = 'RethinkPruneBatchNormTrain';
export const BATCH_NORM_TRAIN_GRAD = 'RethinkPruneBatchNormTrainGrad';
export const MOVING_AVERAGES = 'RethinkPruneMovingAverages';
export const RELU_GRAD = 'RethinkPruneReluGrad';
export const ADD_RELU = 'RethinkPruneAddRelu';
export const SGD_STEP = 'RethinkPruneSgdStep';
/** A channel selection's gradient: input channel c gets column `source[c]` of dy (its kept channels), or 0 at −1. */
export const SELECTION_GRAD = 'RethinkPruneSelectionGrad';

/** Whether `kernelName` runs on the active backend now (registered, and native kernels not switched off). */
export function nativeKernelActive(kernelName: string): boolean {
  return nativeKernelsEnabled() && tf.getKernel(kernelName, tf.getBackend()) !== undefined;
}

type Args = Parameters<KernelFunc>[0];

/** `outputs` once `fill` has written them; freed again if it throws. */
function filled<T extends TensorInfo | TensorInfo[]>(c: KernelComposer, outputs: T, fill: () => void): T {
  try {
    fill();
    return outputs;
  } catch (e) {
    for (const out of [outputs].flat()) c.backend.disposeData(out.dataId);
    throw e;
  }
}

/** The backend's own kernels that ours replace and fall back to where they do not apply. */
export interface ReplacedKernels {
  Add: KernelConfig;
  Relu: KernelConfig;
  MaxPoolGrad: KernelConfig;
  AvgPoolGrad: KernelConfig;
  Concat: KernelConfig;
  SplitV: KernelConfig;
}

/** Whether `axis` (possibly negative) names the last axis of `shape`. */
function lastAxis(axis: number | number[], shape: number[]): boolean {
  const [a] = tf.util.parseAxisParam(axis, shape);
  return a === shape.length - 1;
}

/**
 * Batch norm (with the ReLU after it fused in: attr `relu`, gradient input `y`; its moving averages), ReLU (over the addon's threads) and
 * its gradient, sums of one shape (and a residual sum with its ReLU), MaxPoolGrad, AvgPoolGrad and SGD kernels on the
 * addon, Concat / SplitV of float32 tensors on their last axis (DenseNet's concatenations and their gradients,
 * which wasm copies row by row in JS) and a channel selection's gradient; Add, Relu, the pool gradients, Concat and
 * SplitV fall back to the backend's own kernels where they do not apply.
 */
export function nativeTrainingKernels(lib: NativeConv, backendName: string, own: ReplacedKernels): KernelConfig[] {
  const batchNormTrain = ({ inputs, backend, attrs }: Args): TensorInfo[] => {
    const { x, gamma, beta } = inputs as Record<string, TensorInfo>;
    const channels = gamma.shape[0];
    if (x.shape[x.shape.length - 1] !== channels) {
      throw new RangeError(`${BATCH_NORM_TRAIN}: x has ${x.shape[x.shape.length - 1]} channels (shape ` +
        `[${x.shape}]) but gamma has ${channels}`);
    }
    const c = new KernelComposer(backend, backendName);
    const [y, mean, variance] = [c.alloc(x.shape), c.alloc([channels]), c.alloc([channels])];
    const { epsilon, relu } = attrs as { epsilon: number; relu?: boolean };
    const forward = relu ? lib.batchNormReluForward : lib.batchNormForward;
    return filled(c, [y, mean, variance], () => forward(c.view(x), c.view(gamma), c.view(beta), epsilon, c.view(y),
      c.view(mean), c.view(variance)));
  };
  const batchNormTrainGrad = ({ inputs, backend, attrs }: Args): TensorInfo[] => {
    // y, where given, is the fused forward's output: dy is the ReLU's, masked by step(y) first.
    const { dy, x, mean, variance, gamma, y } = inputs as Record<string, TensorInfo | undefined>;
    const c = new KernelComposer(backend, backendName);
    const [dx, dgamma, dbeta] = [c.alloc(x!.shape), c.alloc(gamma!.shape), c.alloc(gamma!.shape)];
    const { epsilon } = attrs as { epsilon: number };
    const rest = [c.view(x!), c.view(mean!), c.view(variance!), c.view(gamma!), epsilon, c.view(dx), c.view(dgamma),
      c.view(dbeta)] as const;
    return filled(c, [dx, dgamma, dbeta], () => (y ? lib.batchNormReluBackward(c.view(dy!), c.view(y), ...rest)
      : lib.batchNormBackward(c.view(dy!), ...rest)));
  };
  const addRelu = ({ inputs, backend }: Args): TensorInfo => {
    const { a, b } = inputs as Record<string, TensorInfo>;
    if (!tf.util.arraysEqual(a.shape, b.shape)) throw new RangeError(`${ADD_RELU}: shapes [${a.shape}] and [${b.shape}] differ`);
    const c = new KernelComposer(backend, backendName);
    const y = c.alloc(a.shape);
    return filled(c, y, () => lib.addRelu(c.view(a), c.view(b), c.view(y)));
  };
  const add = (args: Args): TensorInfo => {
    const { a, b } = args.inputs as { a: TensorInfo; b: TensorInfo };
    const applies = nativeKernelsEnabled() && a.dtype === 'float32' && b.dtype === 'float32'
      && tf.util.arraysEqual(a.shape, b.shape) && tf.util.sizeFromShape(a.shape) > 0;
    if (!applies) return own.Add.kernelFunc(args) as TensorInfo;
    const c = new KernelComposer(args.backend, backendName);
    const y = c.alloc(a.shape);
    return filled(c, y, () => lib.add(c.view(a), c.view(b), c.view(y)));
  };
  const movingAverages = ({ inputs, backend, attrs }: Args): TensorInfo[] => {
    const { movingMean, movingVariance, mean, variance } = inputs as Record<string, TensorInfo>;
    const c = new KernelComposer(backend, backendName);
    const [newMean, newVariance] = [c.alloc(movingMean.shape), c.alloc(movingVariance.shape)];
    return filled(c, [newMean, newVariance], () => lib.movingAverages(c.view(movingMean), c.view(movingVariance),
      c.view(mean), c.view(variance), (attrs as { momentum: number }).momentum, c.view(newMean), c.view(newVariance)));
  };
  const relu = (args: Args): TensorInfo => {
    const { x } = args.inputs as { x: TensorInfo };
    if (!nativeKernelsEnabled() || x.dtype !== 'float32') return own.Relu.kernelFunc(args) as TensorInfo;
    const c = new KernelComposer(args.backend, backendName);
    const y = c.alloc(x.shape);
    return filled(c, y, () => lib.relu(c.view(x), c.view(y)));
  };
  const reluGrad = ({ inputs, backend }: Args): TensorInfo => {
    const { dy, x } = inputs as Record<string, TensorInfo>;
    const c = new KernelComposer(backend, backendName);
    const dx = c.alloc(x.shape);
    return filled(c, dx, () => lib.reluGrad(c.view(dy), c.view(x), c.view(dx)));
  };
  /** A max or average pool's gradient on the addon: NHWC float32 (and, for the average, no padding). */
  const poolGrad = (kind: 'max' | 'avg') => (args: Args): TensorInfo => {
    const { dy, input } = args.inputs as { dy: TensorInfo; input: TensorInfo };
    const { filterSize, strides, pad, dimRoundingMode, dataFormat } = args.attrs as any;
    const fallback = kind === 'max' ? own.MaxPoolGrad : own.AvgPoolGrad;
    if (!nativeKernelsEnabled() || input.dtype !== 'float32' || (dataFormat && dataFormat !== 'NHWC')) {
      return fallback.kernelFunc(args) as TensorInfo;
    }
    const info = tf.backend_util.computePool2DInfo(input.shape as [number, number, number, number], filterSize,
      strides, 1, pad, dimRoundingMode);
    const padded = [info.padInfo.top, info.padInfo.left, info.padInfo.bottom, info.padInfo.right].some((p) => p !== 0);
    if (kind === 'avg' && padded) return fallback.kernelFunc(args) as TensorInfo;
    const c = new KernelComposer(args.backend, backendName);
    const dx = c.alloc(input.shape);
    const geometry = Int32Array.from([info.batchSize, info.inHeight, info.inWidth, info.inChannels, info.outHeight,
      info.outWidth, info.filterHeight, info.filterWidth, info.strideHeight, info.strideWidth, info.padInfo.top,
      info.padInfo.left]);
    const run = kind === 'max' ? lib.maxPoolGrad : lib.avgPoolGrad;
    return filled(c, dx, () => run(geometry, c.view(input), c.view(dy), c.view(dx)));
  };
  /** Inputs w0, g0, v0, w1, … (attr `count` weights); outputs the new weights, then the new velocities. */
  const sgdStep = ({ inputs, backend, attrs }: Args): TensorInfo[] => {
    const { count, lr, momentum, weightDecay, nesterov } = attrs as any;
    const at = (name: string) => (inputs as Record<string, TensorInfo>)[name];
    const weights = Array.from({ length: count as number }, (_, i) => at(`w${i}`));
    const c = new KernelComposer(backend, backendName);
    const outputs = [...weights, ...weights].map((w) => c.alloc(w.shape));
    const views = (prefix: string) => weights.map((_, i) => c.view(at(`${prefix}${i}`)));
    return filled(c, outputs, () => lib.sgdStep(views('w'), views('g'), views('v'), lr, momentum, weightDecay, nesterov,
      outputs.slice(0, count).map((t) => c.view(t)), outputs.slice(count).map((t) => c.view(t))));
  };
  const concat = (args: Args): TensorInfo => {
    const inputs = args.inputs as unknown as TensorInfo[];
    const { axis } = args.attrs as { axis: number | number[] };
    const shape = inputs[0].shape;
    const applies = nativeKernelsEnabled() && inputs.length > 1 && lastAxis(axis, shape)
      && inputs.every((t) => t.dtype === 'float32' && t.shape.length === shape.length && tf.util.sizeFromShape(t.shape) > 0
        && t.shape.every((d, i) => i === shape.length - 1 || d === shape[i]));
    if (!applies) return own.Concat.kernelFunc(args) as TensorInfo;
    const c = new KernelComposer(args.backend, backendName);
    const out = c.alloc([...shape.slice(0, -1), inputs.reduce((sum, t) => sum + t.shape[shape.length - 1], 0)]);
    const rows = tf.util.sizeFromShape(shape.slice(0, -1));
    return filled(c, out, () => lib.copyChannels(inputs.map((t) => c.view(t)), c.view(out), true, rows));
  };
  const splitV = (args: Args): TensorInfo[] => {
    const { x } = args.inputs as { x: TensorInfo };
    const { numOrSizeSplits, axis } = args.attrs as { numOrSizeSplits: number | number[]; axis: number };
    if (!nativeKernelsEnabled() || x.dtype !== 'float32' || !lastAxis(axis, x.shape) || tf.util.sizeFromShape(x.shape) === 0) {
      return own.SplitV.kernelFunc(args) as TensorInfo[];
    }
    const sizes = tf.backend_util.prepareSplitSize(x as tf.Tensor, numOrSizeSplits, x.shape.length - 1);
    if (sizes.some((size) => size === 0)) return own.SplitV.kernelFunc(args) as TensorInfo[];
    const c = new KernelComposer(args.backend, backendName);
    const parts = sizes.map((size) => c.alloc([...x.shape.slice(0, -1), size]));
    const rows = tf.util.sizeFromShape(x.shape.slice(0, -1));
    return filled(c, parts, () => lib.copyChannels(parts.map((p) => c.view(p)), c.view(x), false, rows));
  };
  const selectionGrad = ({ inputs, backend, attrs }: Args): TensorInfo => {
    const { dy } = inputs as { dy: TensorInfo };
    const source = Int32Array.from((attrs as unknown as { source: number[] }).source);
    const c = new KernelComposer(backend, backendName);
    const dx = c.alloc([...dy.shape.slice(0, -1), source.length]);
    return filled(c, dx, () => lib.gatherChannels(c.view(dy), source, c.view(dx), tf.util.sizeFromShape(dy.shape.slice(0, -1))));
  };
  const config = (kernelName: string, kernelFunc: (args: Args) => TensorInfo | TensorInfo[]): KernelConfig =>
    ({ kernelName, backendName, kernelFunc: kernelFunc as KernelFunc });
  return [
    config(BATCH_NORM_TRAIN, batchNormTrain),
    config(BATCH_NORM_TRAIN_GRAD, batchNormTrainGrad),
    config(MOVING_AVERAGES, movingAverages),
    config('Add', add),
    config(ADD_RELU, addRelu),
    config('Relu', relu),
    config(RELU_GRAD, reluGrad),
    config('MaxPoolGrad', poolGrad('max')),
    config('AvgPoolGrad', poolGrad('avg')),
    config(SGD_STEP, sgdStep),
    config('Concat', concat),
    config('SplitV', splitV),
    config(SELECTION_GRAD, selectionGrad),
  ];
}
