/**
 * Keras 3 models with their weights: a `.keras` archive (config.json + model.weights.h5, what `model.save('m.keras')`
 * writes in TensorFlow 2.16+), or a folder holding those two files. The config goes through keras3ToTfjs; the
 * weights are read from the HDF5 file (jsfive), where Keras 3 keeps each layer's variables under
 * `layers/<snake_case class>[_k]/vars/<i>`, the layer's own name as that group's `name` attribute (Keras 3.15;
 * without it, the k-th layer of a class in the model's order is `<snake_case class>_k`).
 */
import * as fs from 'fs';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs';
import { unzipSync } from 'fflate';
import { Dataset, File, Group } from 'jsfive';
import { ModelDirError } from '../model-io';
import { keras3ToTfjs } from './keras3';

const CONFIG = 'config.json';
const WEIGHTS = 'model.weights.h5';

/** Whether `given` is a Keras 3 model: a `.keras` file, or a folder with config.json and model.weights.h5. */
export function isKerasModel(given: string): boolean {
  if (given.endsWith('.keras')) return true;
  return [CONFIG, WEIGHTS].every((f) => fs.existsSync(path.join(given, f)));
}

/** Keras's `to_snake_case`: `BatchNormalization` → `batch_normalization`, `ReLU` → `re_lu`, `Conv2D` → `conv2d`. */
export function kerasSnakeCase(className: string): string {
  return className.replace(/\W+/g, '').replace(/(.)([A-Z][a-z]+)/g, '$1_$2').replace(/([a-z])([A-Z])/g, '$1_$2')
    .toLowerCase();
}

/** The weight-file group of each layer when the file does not name them: per class, in the model's layer order. */
export function kerasWeightGroups(classNames: string[]): string[] {
  const seen = new Map<string, number>();
  return classNames.map((className) => {
    const base = kerasSnakeCase(className);
    const k = seen.get(base) ?? 0;
    seen.set(base, k + 1);
    return k === 0 ? base : `${base}_${k}`;
  });
}

/** config.json and model.weights.h5 of a `.keras` archive or folder. */
function kerasFiles(given: string): { config: unknown; weights: Uint8Array } {
  if (!fs.existsSync(given)) throw new ModelDirError(given, 'no such file or folder');
  let files: Record<string, Uint8Array>;
  if (fs.statSync(given).isDirectory()) {
    files = Object.fromEntries([CONFIG, WEIGHTS].map((f) => [f, fs.readFileSync(path.join(given, f))]));
  } else {
    try {
      files = unzipSync(fs.readFileSync(given), { filter: (f) => f.name === CONFIG || f.name === WEIGHTS });
    } catch (e) {
      throw new ModelDirError(given, `not a .keras archive (a zip file): ${(e as Error).message}`);
    }
  }
  for (const f of [CONFIG, WEIGHTS]) if (!files[f]) throw new ModelDirError(given, `holds no ${f}`);
  try {
    return { config: JSON.parse(Buffer.from(files[CONFIG]).toString('utf8')), weights: files[WEIGHTS] };
  } catch (e) {
    throw new ModelDirError(given, `${CONFIG} is not JSON (${(e as Error).message})`);
  }
}

/** Sets every layer's weights from a Keras 3 weights file; a missing, extra or misshapen variable is an error. */
export function setKerasWeights(model: tf.LayersModel, h5: Uint8Array, where: string): void {
  let file: File;
  try {
    file = new File(h5.buffer.slice(h5.byteOffset, h5.byteOffset + h5.byteLength) as ArrayBuffer, where);
  } catch (e) {
    throw new ModelDirError(where, `${WEIGHTS} is not an HDF5 file (${(e as Error).message})`);
  }
  const layers = file.get('layers');
  if (!(layers instanceof Group)) throw new ModelDirError(where, `${WEIGHTS} has no 'layers' group: not Keras 3's`);
  const fallback = new Map(kerasWeightGroups(model.layers.map((l) => l.getClassName()))
    .map((group, i) => [group, model.layers[i].name]));
  const stored = new Map<string, Dataset[]>();
  for (const group of layers.keys) {
    const vars = file.get(`layers/${group}/vars`);
    if (!(vars instanceof Group) || vars.keys.length === 0) continue;
    const layerName = typeof vars.attrs.name === 'string' ? vars.attrs.name : fallback.get(group);
    if (layerName === undefined) throw new ModelDirError(where, `${WEIGHTS}: group '${group}' matches no layer`);
    const indices = [...vars.keys].sort((a, b) => Number(a) - Number(b));
    stored.set(layerName, indices.map((i) => file.get(`layers/${group}/vars/${i}`) as Dataset));
  }
  for (const layer of model.layers) {
    const weights = layer.weights;
    const values = stored.get(layer.name) ?? [];
    stored.delete(layer.name);
    if (values.length !== weights.length) {
      throw new ModelDirError(where, `layer '${layer.name}' (${layer.getClassName()}) has ${weights.length} ` +
        `weights, ${WEIGHTS} holds ${values.length} for it`);
    }
    if (weights.length === 0) continue;
    const tensors = values.map((v, i) => {
      const shape = weights[i].shape as number[];
      if (v.shape.length !== shape.length || v.shape.some((d, k) => d !== shape[k])) {
        throw new ModelDirError(where, `layer '${layer.name}' weight ${i} (${weights[i].originalName}) has ` +
          `shape [${v.shape}] in ${WEIGHTS}, the model needs [${shape}]`);
      }
      return tf.tensor(Float32Array.from(v.value), shape);
    });
    layer.setWeights(tensors);
    tf.dispose(tensors);
  }
  const extra = [...stored.keys()][0];
  if (extra !== undefined) throw new ModelDirError(where, `${WEIGHTS} holds weights for '${extra}', no layer of the model`);
}

/** A Keras 3 model with its trained weights, as a tfjs LayersModel. */
export async function readKerasModel(given: string): Promise<tf.LayersModel> {
  const { config, weights } = kerasFiles(given);
  const model = await tf.models.modelFromJSON({ modelTopology: keras3ToTfjs(config as never) as tf.io.ModelJSON['modelTopology'] });
  try {
    setKerasWeights(model, weights, given);
  } catch (e) {
    model.dispose();
    throw e;
  }
  return model;
}
