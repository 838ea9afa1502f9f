import * as tf from '@tensorflow/tfjs';
import {
  layerActivation, pruneLayerByLayer, type ArchSpec, type Reconstruction, type ReconstructableLayer,
} from '@rethink-prune/core';
import { channelPrune } from './regression';

/** What one layer's prune did: kept input channels and the relative error of its output, before/after the refit. */
export interface LayerReport {
  layer: string;
  kept: number;
  of: number;
  errorBefore: number;
  errorAfter: number;
  /** False when the α search stalled on a tie and took the strongest channels of a wider support. */
  exact: boolean;
}

export interface RegressionOptions {
  /** The layers to prune, in order, each with the number of channels it keeps. */
  layers: Array<ReconstructableLayer & { keep: number }>;
  /** Sampled (image, position) pairs per image (the authors': 10). */
  samplesPerImage: number;
  seed: number;
  onLayer?(report: LayerReport): void;
}

/**
 * Channel Pruning (He, Zhang, Sun, ICCV 2017), layer by layer: the conv reading a group's channels is sampled with
 * its input taken from the network pruned so far and its target from the original network (so errors do not
 * accumulate); LASSO picks the channels to keep, least squares refits that conv's weights (and bias, where it has
 * one) on the kept ones. Returns the keep-sets and a model of the same spec with the refitted weights (zero on
 * removed input channels); surgery then cuts it.
 */
export async function regressionPrune(model: tf.LayersModel, spec: ArchSpec, images: tf.Tensor4D, o: RegressionOptions):
  Promise<Reconstruction & { report: LayerReport[] }> {
  const report: LayerReport[] = [];
  const keepCounts = new Map(o.layers.map((layer) => [layer.group.id, layer.keep]));
  const pruned = await pruneLayerByLayer(model, spec, o.layers, ({ group, next, index, work, kernel, bias, stride, padding }) => {
    const keepCount = keepCounts.get(group.id)!;
    const [kh, kw, channels, outChannels] = kernel.shape as number[];
    if (keepCount >= channels) return undefined;
    const input = layerActivation(work, next, 'input', images);
    const target = layerActivation(model, next, 'output', images);
    const result = channelPrune(input, kernel.read() as tf.Tensor4D, target, {
      stride, padding, samples: o.samplesPerImage * images.shape[0], seed: o.seed + index, keepCount,
      bias: bias !== undefined,
    });
    tf.dispose([input, target]);
    // The refitted slices of the kept input channels; removed channels read nothing.
    const full = new Float32Array(kh * kw * channels * outChannels);
    const keptCount = result.kept.length;
    for (let position = 0; position < kh * kw; position++) {
      result.kept.forEach((channel, k) => {
        for (let out = 0; out < outChannels; out++) {
          full[(position * channels + channel) * outChannels + out] = result.kernel[(position * keptCount + k) * outChannels + out];
        }
      });
    }
    kernel.write(tf.tensor4d(full, [kh, kw, channels, outChannels]));
    if (bias && result.bias) bias.write(tf.tensor1d(result.bias));
    const done = { layer: group.id, kept: keptCount, of: channels, errorBefore: result.error.before,
      errorAfter: result.error.after, exact: result.exact };
    report.push(done);
    o.onLayer?.(done);
    return result.kept;
  });
  return { ...pruned, report };
}
