import * as fs from 'fs';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs';
import { ModelDirError } from '../model-io';
import { isKeras3Config, keras3ToTfjs } from './keras3';
import { isKerasModel, readKerasModel } from './keras3-weights';

/** The model.json of a directory, or the file itself. */
const modelJsonOf = (given: string) =>
  (fs.existsSync(given) && fs.statSync(given).isDirectory() ? path.join(given, 'model.json') : given);

/**
 * Any tfjs Layers model saved as model.json + weight files (tf.io's format, as `model.save('file://…')`,
 * tensorflowjs_converter or our own saveModelDir write it), read without tfjs-node; or a Keras 3 model (a `.keras`
 * file, or a folder with its config.json and model.weights.h5) with its weights.
 */
export async function readLayersModel(given: string): Promise<tf.LayersModel> {
  if (isKerasModel(given)) return readKerasModel(given);
  const file = modelJsonOf(given);
  if (!fs.existsSync(file)) throw new ModelDirError(file, 'no such file: give a model.json or the folder holding it');
  let json: { modelTopology?: unknown; weightsManifest?: Array<{ paths: string[]; weights: tf.io.WeightsManifestEntry[] }> };
  try {
    json = JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch (e) {
    throw new ModelDirError(file, `not JSON (${(e as Error).message})`);
  }
  if (!json.modelTopology || !Array.isArray(json.weightsManifest)) {
    throw new ModelDirError(file, 'not a tfjs Layers model.json (no modelTopology or weightsManifest)');
  }
  const dir = path.dirname(file);
  const buffers = json.weightsManifest.flatMap((group) => group.paths.map((p) => {
    const weightFile = path.join(dir, p);
    if (!fs.existsSync(weightFile)) throw new ModelDirError(weightFile, `missing: ${file} lists it`);
    const bytes = fs.readFileSync(weightFile);
    return bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength);
  }));
  // A Keras 3 config (TensorFlow 2.16+) is translated to the form tfjs reads.
  const topology = isKeras3Config(json.modelTopology as never) ? keras3ToTfjs(json.modelTopology as never) : json.modelTopology;
  return tf.loadLayersModel(tf.io.fromMemory({
    modelTopology: topology as tf.io.ModelJSON['modelTopology'],
    weightSpecs: json.weightsManifest.flatMap((group) => group.weights),
    weightData: tf.io.concatenateArrayBuffers(buffers),
  }));
}

/**
 * Multiply-adds of one image through the model's Conv2D, DepthwiseConv2D, SeparableConv2D and Dense layers (the
 * layers pruning shrinks), from their output shapes and kernels.
 */
export function layerFlops(model: tf.LayersModel): number {
  let total = 0;
  for (const layer of model.layers) {
    const weights = layer.getWeights();
    if (weights.length === 0) continue;
    const out = layer.outputShape as number[];
    const positions = out.slice(1, -1).reduce((a, d) => a * d, 1);
    const size = (t: tf.Tensor) => t.size;
    switch (layer.getClassName()) {
      case 'Conv2D': case 'DepthwiseConv2D': case 'Dense':
        total += positions * size(weights[0]);
        break;
      case 'SeparableConv2D':
        total += positions * (size(weights[0]) + size(weights[1]));
        break;
      default:
    }
  }
  return total;
}
