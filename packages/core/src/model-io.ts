import * as fs from 'fs';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs';
import { SpecError } from './errors';
import { readJsonFile, writeFileAtomic } from './fs-atomic';
import { namedWeights, type MaskSet } from './pruning/masks';
import { buildModel, upgradeSpec, validateSpec, type ArchSpec } from './spec';

/**
 * A model directory: tfjs `model.json` + `weights.bin` (loadable as is by `tf.loadLayersModel(url)` in a
 * browser), our `spec.json`, and for unstructured pruning `masks.json` + `masks.bin`.
 */
export const MODEL_JSON = 'model.json';
export const WEIGHTS_BIN = 'weights.bin';
export const SPEC_JSON = 'spec.json';
const MASKS_JSON = 'masks.json';
const MASKS_BIN = 'masks.bin';

/** A model directory that cannot be loaded; `location` is the directory or the file at fault. */
export class ModelDirError extends Error {
  constructor(readonly location: string, problem: string) {
    super(`${location}: ${problem}`);
    this.name = 'ModelDirError';
  }
}

function toBytes(data: tf.io.WeightData): Uint8Array {
  const buffer = Array.isArray(data) ? tf.io.concatenateArrayBuffers(data) : data;
  return new Uint8Array(buffer);
}

/** `<dir>/model.json` and `<dir>/weights.bin` as tf.io writes them: what plain tf.loadLayersModel reads. */
export async function writeModelFiles(dir: string, model: tf.LayersModel): Promise<void> {
  await model.save(tf.io.withSaveHandler(async (artifacts) => {
    writeFileAtomic(path.join(dir, WEIGHTS_BIN), toBytes(artifacts.weightData!));
    const manifest = [{ paths: [`./${WEIGHTS_BIN}`], weights: artifacts.weightSpecs! }];
    const json = { modelTopology: artifacts.modelTopology, format: artifacts.format,
      generatedBy: artifacts.generatedBy, convertedBy: artifacts.convertedBy ?? null,
      weightsManifest: manifest };
    writeFileAtomic(path.join(dir, MODEL_JSON), JSON.stringify(json));
    return { modelArtifactsInfo: tf.io.getModelArtifactsInfoForJSON(artifacts) };
  }));
}

export async function saveModelDir(dir: string, model: tf.LayersModel, spec: ArchSpec,
  masks?: MaskSet): Promise<void> {
  await writeModelFiles(dir, model);
  writeFileAtomic(path.join(dir, SPEC_JSON), `${JSON.stringify(spec, null, 2)}\n`);
  if (masks) writeMasks(dir, masks);
}

/** `masks.json` (name → { shape, offset }) and `masks.bin` (a 0/1 byte per weight) of unstructured pruning. */
export function writeMasks(dir: string, masks: MaskSet): void {
  if (masks.size > 0) {
    const index: Record<string, { shape: number[]; offset: number }> = {};
    const total = [...masks.values()].reduce((a, m) => a + m.size, 0);
    const bytes = new Uint8Array(total);
    let offset = 0;
    for (const [name, m] of masks) {
      index[name] = { shape: m.shape, offset };
      bytes.set(Uint8Array.from(m.dataSync(), (v) => (v !== 0 ? 1 : 0)), offset);
      offset += m.size;
    }
    writeFileAtomic(path.join(dir, MASKS_BIN), bytes);
    writeFileAtomic(path.join(dir, MASKS_JSON), JSON.stringify(index));
  }
}

/** The spec of a model directory, without loading its weights. */
export function readModelSpec(dir: string): ArchSpec {
  const file = path.join(dir, SPEC_JSON);
  const json = readJsonFile(file, (problem) => new ModelDirError(file, problem));
  try {
    return validateSpec(upgradeSpec(json) as ArchSpec);
  } catch (e) {
    if (e instanceof SpecError) throw new ModelDirError(file, `not a valid spec: ${e.problems.join('; ')}`);
    throw e;
  }
}

export interface LoadedModel {
  model: tf.LayersModel;
  spec: ArchSpec;
  masks?: MaskSet;
}

const sizeOf = (shape: number[]) => shape.reduce((product, dim) => product * dim, 1);
const sameShape = (a: number[], b: number[]) => a.length === b.length && a.every((dim, i) => dim === b[i]);

/** The weight entries of model.json's manifest, checked to be a list of `{ name, shape }`. */
function manifestWeights(file: string): tf.io.WeightsManifestEntry[] {
  const json = readJsonFile(file, (problem) => new ModelDirError(file, problem)) as Partial<tf.io.ModelJSON>;
  const groups = json?.weightsManifest;
  const entries = Array.isArray(groups) ? groups.flatMap((group) => group?.weights ?? []) : undefined;
  if (!entries || !entries.every((w) => typeof w?.name === 'string' && Array.isArray(w.shape))) {
    throw new ModelDirError(file, 'has no valid weightsManifest ([{ paths, weights: [{ name, shape }] }])');
  }
  return entries;
}

/**
 * Loads a model directory: the model is built from spec.json with buildModel (our layer classes, such as the
 * training BN), then every weight is set from weights.bin by name, using the manifest of model.json.
 */
export async function loadModelDir(dir: string): Promise<LoadedModel> {
  for (const f of [MODEL_JSON, WEIGHTS_BIN, SPEC_JSON]) {
    if (!fs.existsSync(path.join(dir, f))) {
      throw new ModelDirError(dir, `missing ${f}; is this a model directory saved by rethink-prune?`);
    }
  }
  const weightSpecs = manifestWeights(path.join(dir, MODEL_JSON));
  const weightsFile = path.join(dir, WEIGHTS_BIN);
  const data = fs.readFileSync(weightsFile);
  const expected = weightSpecs.reduce((total, w) => total + 4 * sizeOf(w.shape), 0);
  if (data.length !== expected) {
    throw new ModelDirError(dir, `${WEIGHTS_BIN} has ${data.length} bytes, model.json expects ${expected}`);
  }
  const spec = readModelSpec(dir);
  const weightData = data.buffer.slice(data.byteOffset, data.byteOffset + data.length);
  const stored = tf.io.decodeWeights(weightData, weightSpecs);
  const model = buildModel(spec);
  try {
    const specFile = path.join(dir, SPEC_JSON);
    const values = model.weights.map((weight) => {
      const value = stored[weight.originalName];
      if (!value) {
        throw new ModelDirError(weightsFile,
          `has no weight '${weight.originalName}', which the model of ${specFile} has`);
      }
      if (!sameShape(value.shape, weight.shape as number[])) {
        throw new ModelDirError(weightsFile, `weight '${weight.originalName}' has shape [${value.shape}], ` +
          `the model of ${specFile} needs [${weight.shape}]`);
      }
      return value;
    });
    const known = new Set(model.weights.map((weight) => weight.originalName));
    const extra = Object.keys(stored).find((name) => !known.has(name));
    if (extra) {
      throw new ModelDirError(weightsFile, `holds weight '${extra}', which the model of ${specFile} lacks`);
    }
    model.setWeights(values);
  } catch (e) {
    model.dispose();
    throw e;
  } finally {
    tf.dispose(Object.values(stored));
  }
  const masks = fs.existsSync(path.join(dir, MASKS_JSON)) ? readMasks(dir, model) : undefined;
  return { model, spec, masks };
}

/** The masks saved with a model directory (the model itself is not kept), or undefined where it has none. */
export async function loadMasks(dir: string): Promise<MaskSet | undefined> {
  const { model, masks } = await loadModelDir(dir);
  model.dispose();
  return masks;
}

/** masks.json (name → { shape, offset }) and masks.bin (a 0/1 byte per weight), checked against the model. */
function readMasks(dir: string, model: tf.LayersModel): MaskSet {
  const indexFile = path.join(dir, MASKS_JSON);
  const binFile = path.join(dir, MASKS_BIN);
  const index = readJsonFile(indexFile, (problem) => new ModelDirError(indexFile, problem));
  if (typeof index !== 'object' || index === null || Array.isArray(index)) {
    throw new ModelDirError(indexFile, 'is not an object of masks by weight name ({ "layer/kernel": ' +
      '{ shape, offset } })');
  }
  if (!fs.existsSync(binFile)) throw new ModelDirError(binFile, `missing; ${indexFile} needs it`);
  const bytes = fs.readFileSync(binFile);
  const weights = namedWeights(model);
  const checked = Object.entries(index).map(([name, entry]) => {
    const { shape, offset } = (entry ?? {}) as { shape?: unknown; offset?: unknown };
    if (!Array.isArray(shape) || !Number.isInteger(offset)) {
      throw new ModelDirError(indexFile, `entry '${name}' is not { shape: number[], offset: integer }`);
    }
    const weight = weights.get(name);
    if (!weight) throw new ModelDirError(indexFile, `mask '${name}' names no weight of the model`);
    if (!sameShape(shape, weight.shape as number[])) {
      throw new ModelDirError(indexFile, `mask '${name}' has shape [${shape}], the weight has ` +
        `[${weight.shape}]`);
    }
    const end = (offset as number) + sizeOf(shape);
    if (end > bytes.length) {
      throw new ModelDirError(binFile, `has ${bytes.length} bytes, mask '${name}' needs ${end}`);
    }
    return { name, shape: shape as number[], begin: offset as number, end };
  });
  return new Map(checked.map(({ name, shape, begin, end }) =>
    [name, tf.tensor(Float32Array.from(bytes.subarray(begin, end)), shape)]));
}
