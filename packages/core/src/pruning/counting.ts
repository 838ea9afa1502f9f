import type * as tf from '@tensorflow/tfjs';
import { keptWeights, type MaskSet } from './masks';
import { shapesOnly } from '../models/layers';
import { familyOf } from '../models/registry';
import { BlockScale } from '../models/resnet';
import { buildModel, type ArchSpec } from '../spec';

/**
 * Parameters and FLOPs of a spec, counted as the seed's compute_flops.py counts them (per image):
 * conv (2·k²·Cin + bias)·Cout·Ho·Wo; linear 2·weights + bias; BatchNorm2d 2 per input element (BatchNorm1d is
 * not hooked, so 0); ReLU 1 per input element, at every call; max/avg pooling k² per output element, but only
 * for pooling the seed runs as a module (VGG's final and the ResNet shortcut's pooling are functional calls
 * there, so they count 0); residual additions count 0. Parameters are every trainable weight (PyTorch's
 * parameters(): conv, linear, BN γ and β; running statistics excluded). Our fixed, non-trainable layers
 * stand in for parameter-free operations of the seed and count nothing, except channel selections, whose
 * seed module holds one (unused) parameter per input channel and computes nothing. A ResNet's block scale
 * (SSS's λ, absent from the seed's counter) is 1 parameter and 1 FLOP per output element.
 */
export interface Counts {
  params: number;
  flops: number;
}

/** The seed's channel_selection holds an `indexes` parameter with one entry per input channel. */
const isSelection = (layer: tf.layers.Layer) => !layer.trainable && /(^|\.)select$/.test(layer.name);

const numel = (shape: tf.Shape) => (shape as number[]).slice(1).reduce((a, d) => a * d, 1);

/** Zero entries of each masked weight, by weight name (`layer/kernel`). */
function maskedZeros(masks: MaskSet | undefined): Map<string, number> {
  const zeros = new Map<string, number>();
  for (const [name, mask] of masks ?? []) {
    zeros.set(name, mask.size - keptWeights(mask));
  }
  return zeros;
}

/**
 * With `masks` (unstructured pruning), a model is counted as the seed's weight-level count_flops.py counts a
 * sparse model: a conv's FLOPs take its non-zero weights only (2·nnz + bias·Cout per output position), and
 * masked-out weights are not parameters; everything else counts as dense.
 */
export function countModel(spec: ArchSpec, model: tf.LayersModel, masks?: MaskSet): Counts {
  const zeros = maskedZeros(masks);
  // Pooling the seed runs as a function is invisible to its hooks (each family names its own).
  const functionalInSeed = familyOf(spec).functionalInSeed as (layerName: string, spec: ArchSpec) => boolean;
  let params = 0;
  let flops = 0;
  for (const layer of model.layers) {
    if (isSelection(layer)) {
      params += ((layer.input as tf.SymbolicTensor).shape as number[])[3];
      continue;
    }
    if (!layer.trainable && layer.countParams() > 0) continue;
    params += layer.trainableWeights.reduce((a, w) => a + (w.shape as number[]).reduce((p, d) => p * d, 1), 0);
    params -= layer.trainableWeights.reduce((a, w) => a + (zeros.get(w.originalName) ?? 0), 0);
    const inShape = (layer.input as tf.SymbolicTensor).shape;
    const outShape = layer.outputShape as tf.Shape;
    const cfg = layer.getConfig() as Record<string, any>;
    switch (layer.getClassName()) {
      case 'Conv2D': {
        const [kh, kw] = cfg.kernelSize as number[];
        const cin = (inShape as number[])[3];
        const [, ho, wo, cout] = outShape as number[];
        const pruned = zeros.get(`${layer.name}/kernel`) ?? 0;
        flops += (2 * (kh * kw * cin * cout - pruned) + (cfg.useBias ? cout : 0)) * ho * wo;
        break;
      }
      case 'Dense': {
        const units = cfg.units as number;
        flops += 2 * numel(inShape as tf.Shape) * units + (cfg.useBias ? units : 0);
        break;
      }
      case 'BatchNormalization':
        if ((inShape as number[]).length === 4) flops += 2 * numel(inShape as tf.Shape);
        break;
      case 'ReLU':
        if (!functionalInSeed(layer.name, spec)) flops += numel(inShape as tf.Shape);
        break;
      case BlockScale.className:
        // SSS's λ·branch: one multiply per output element (the seed's counter has no such layer).
        flops += numel(outShape);
        break;
      case 'MaxPooling2D':
      case 'AveragePooling2D':
        if (!functionalInSeed(layer.name, spec)) {
          const [ph, pw] = cfg.poolSize as number[];
          flops += ph * pw * numel(outShape);
        }
        break;
      default:
        break;
    }
  }
  return { params, flops };
}

/** Counts of a spec, sparse where `masks` zero weights (builds the model once, without keeping it). */
export function countSpec(spec: ArchSpec, masks?: MaskSet): Counts {
  // Counting reads shapes (and the masks), never weight values.
  const model = shapesOnly(() => buildModel(spec, 0));
  try {
    return countModel(spec, model, masks);
  } finally {
    model.dispose();
  }
}
