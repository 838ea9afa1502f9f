import * as tf from '@tensorflow/tfjs';
import { channelGroups, type ChannelGroup } from './graph';
import { namedWeights, type MaskSet } from './masks';
import { buildModel, type ArchSpec } from '../spec';
import type { KeepSets } from './surgery';
import type { Reconstruction } from '../experiment/method';

/**
 * A layer a feature-reconstruction pruner can prune (ThiNet, Channel Pruning): the channel group whose filters go,
 * and the one conv that reads those channels, whose output the pruner rebuilds.
 */
export interface ReconstructableLayer {
  group: ChannelGroup;
  next: string;
}

export class LayerChoiceError extends Error {
  constructor(layer: string, known: string[]) {
    super(`cannot prune ${layer} by reconstruction: it is not a channel group read by one conv; these are: ${known.join(', ')}`);
    this.name = 'LayerChoiceError';
  }
}

/**
 * The groups of a spec read by exactly one conv and nothing else (a VGG conv followed by a conv, the inner convs of
 * a residual block; not a conv feeding a classifier or a channel selection); `ids` picks some, in that order.
 */
export function reconstructableLayers(spec: ArchSpec, ids?: string[]): ReconstructableLayer[] {
  const layers = channelGroups(spec).flatMap((group) => {
    const readers = group.members.filter((m) => m.kind === 'conv-in' || m.kind === 'dense-in' || m.kind === 'select-out');
    return readers.length === 1 && readers[0].kind === 'conv-in' && !group.selection ? [{ group, next: readers[0].layer }] : [];
  });
  if (!ids) return layers;
  return ids.map((id) => {
    const layer = layers.find((l) => l.group.id === id);
    if (!layer) throw new LayerChoiceError(id, layers.map((l) => l.group.id));
    return layer;
  });
}

/** What `layer` reads (after BN, ReLU, pooling) or gives (before its BN), on `images`, in batches of 64. */
export function layerActivation(model: tf.LayersModel, layer: string, side: 'input' | 'output', images: tf.Tensor4D): tf.Tensor4D {
  const target = model.getLayer(layer)[side] as tf.SymbolicTensor;
  const probe = tf.model({ inputs: model.inputs, outputs: target });
  return tf.tidy(() => probe.predict(images, { batchSize: 64 }) as tf.Tensor4D);
}

/**
 * One spatial axis of a conv as tf.conv2d computes it (TensorFlow's 'SAME'): the output length and the zero padding
 * before the first input position; what samplers of conv windows need to find the inputs an output reads.
 */
export function convAxis(inSize: number, kernelSize: number, stride: number, padding: 'same' | 'valid'):
  { outSize: number; padBefore: number } {
  if (padding === 'valid') return { outSize: Math.ceil((inSize - kernelSize + 1) / stride), padBefore: 0 };
  const outSize = Math.ceil(inSize / stride);
  const padTotal = Math.max((outSize - 1) * stride + kernelSize - inSize, 0);
  return { outSize, padBefore: Math.floor(padTotal / 2) };
}

/** What a reconstruction pruner's step sees for one layer: `work` is the network pruned so far. */
export interface LayerStep extends ReconstructableLayer {
  index: number;
  work: tf.LayersModel;
  /** The next conv's kernel and bias (where it has one), to read and rewrite in `work`. */
  kernel: tf.LayerVariable;
  bias?: tf.LayerVariable;
  stride: number;
  padding: 'same' | 'valid';
}

/**
 * Fine-tuning of the network pruned so far, between two layers (ThiNet's authors train about an epoch after each):
 * `masks` hold every removed channel's slice of the next convs' kernels at zero while it trains `work` in place.
 */
export type BetweenLayers = (work: tf.LayersModel, masks: MaskSet, done: ReconstructableLayer) => Promise<void>;

/** 0 on the input channels of a kernel [kh, kw, cin, cout] that are not kept, 1 elsewhere. */
function inputChannelMask(kernel: tf.LayerVariable, kept: number[]): tf.Tensor {
  const [kh, kw, cin, cout] = kernel.shape as number[];
  const keep = new Float32Array(cin);
  for (const c of kept) keep[c] = 1;
  return tf.tidy(() => tf.tile(tf.tensor4d(keep, [1, 1, cin, 1]), [kh, kw, 1, cout]));
}

/**
 * The layer-by-layer loop of ThiNet and Channel Pruning: on a copy of `model`, each layer in order goes to `step`,
 * which rewrites the next conv in `work` and returns the channels kept (undefined: the layer stays as it is); with
 * `between`, the network pruned so far is fine-tuned after every layer but the last (the method's fine-tune stage
 * follows the last). Returns the keep-sets and the rewritten model of the same spec, for surgery to cut.
 */
export async function pruneLayerByLayer(model: tf.LayersModel, spec: ArchSpec, layers: ReconstructableLayer[],
  step: (layer: LayerStep) => number[] | undefined, between?: BetweenLayers): Promise<Reconstruction> {
  const work = buildModel(spec, 0);
  work.setWeights(model.getWeights());
  const weights = namedWeights(work);
  const keep: KeepSets = {};
  const masks: MaskSet = new Map();
  try {
    for (const [index, layer] of layers.entries()) {
      const config = work.getLayer(layer.next).getConfig() as { strides: number[]; padding: 'same' | 'valid' };
      const kernel = weights.get(`${layer.next}/kernel`)!;
      const kept = step({ ...layer, index, work, kernel, bias: weights.get(`${layer.next}/bias`),
        stride: config.strides[0], padding: config.padding });
      if (!kept) continue;
      keep[layer.group.id] = kept;
      masks.set(`${layer.next}/kernel`, inputChannelMask(kernel, kept));
      if (between && index < layers.length - 1) await between(work, masks, layer);
    }
  } catch (e) {
    work.dispose();
    throw e;
  } finally {
    for (const mask of masks.values()) mask.dispose();
  }
  return { keep, model: work };
}
