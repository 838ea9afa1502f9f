import * as tf from '@tensorflow/tfjs';
import {
  layerActivation, pruneLayerByLayer, type ArchSpec, type BetweenLayers, type Reconstruction, type ReconstructableLayer,
} from '@rethink-prune/core';
import { sampleContributions, thinetSelect } from './thinet';

/** What one layer's prune did, for the report: kept channels and reconstruction error before/after rescaling. */
export interface LayerReport {
  layer: string;
  kept: number;
  of: number;
  errorBefore: number;
  errorAfter: number;
}

export interface ThinetOptions {
  /** The layers to prune, in order, and the share of channels each keeps (ThiNet's compression rate, e.g. 0.5). */
  layers: ReconstructableLayer[];
  keepRatio: number;
  /** Sampled (image, output channel, position) triples per image (the authors': 10). */
  samplesPerImage: number;
  seed: number;
  /** Told each layer's result as it is done (the CLI prints it: pruning a large model takes a while). */
  onLayer?(report: LayerReport): void;
  /** Fine-tunes the network pruned so far after each layer but the last (the authors' schedule); absent: one-shot. */
  between?: BetweenLayers;
}

/**
 * ThiNet (Luo et al., ICCV 2017), layer by layer: for each layer, sample the next conv's output on training images
 * as sums of per-channel contributions, greedily remove the channels whose removal changes it least, rescale the
 * next conv's kept input channels by least squares, and go on with the next layer on the network pruned so far.
 * Returns the keep-sets and a model of the same spec whose removed channels are zero in the next conv and whose kept
 * ones carry the scales; surgery then cuts it.
 */
export async function thinetPrune(model: tf.LayersModel, spec: ArchSpec, images: tf.Tensor4D, o: ThinetOptions):
  Promise<Reconstruction & { report: LayerReport[] }> {
  const report: LayerReport[] = [];
  const pruned = await pruneLayerByLayer(model, spec, o.layers, ({ group, next, index, work, kernel, stride, padding }) => {
    const channels = kernel.shape[2] as number;
    const keepCount = Math.max(1, Math.floor(channels * o.keepRatio));
    if (keepCount >= channels) return undefined;
    const activation = layerActivation(work, next, 'input', images);
    const sampled = sampleContributions(activation, kernel.read() as tf.Tensor4D, {
      stride, padding, samples: o.samplesPerImage * images.shape[0], seed: o.seed + index,
    });
    activation.dispose();
    const selection = thinetSelect(sampled.contributions, sampled.targets, sampled.m, sampled.channels, keepCount);
    // The next conv reads the kept channels scaled by ŵ and the removed ones not at all: later layers see the
    // network pruned so far.
    const scale = new Float32Array(channels);
    selection.kept.forEach((channel, i) => { scale[channel] = selection.scales[i]; });
    kernel.write(tf.tidy(() => tf.mul(kernel.read(), tf.tensor4d(scale, [1, 1, channels, 1]))));
    const done = { layer: group.id, kept: keepCount, of: channels,
      errorBefore: selection.error.before, errorAfter: selection.error.after };
    report.push(done);
    o.onLayer?.(done);
    return selection.kept;
  }, o.between);
  return { ...pruned, report };
}
