import * as fs from 'fs';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs';
import { writeFileAtomic } from './fs-atomic';
import type { MaskSet } from './masks';
import { validateSpec, type ArchSpec } from './spec';

/**
 * A model directory: tfjs `model.json` + `weights.bin` (loadable as is by `tf.loadLayersModel(url)` in a
 * browser), our `spec.json`, and for unstructured pruning `masks.json` + `masks.bin`.
 */
export const MODEL_JSON = 'model.json';
export const WEIGHTS_BIN = 'weights.bin';
export const SPEC_JSON = 'spec.json';

export class ModelDirError extends Error {
  constructor(readonly dir: string, problem: string) {
    super(`${dir}: ${problem}`);
    this.name = 'ModelDirError';
  }
}

function toBytes(data: tf.io.WeightData): Uint8Array {
  const buffer = Array.isArray(data) ? tf.io.concatenateArrayBuffers(data) : data;
  return new Uint8Array(buffer);
}

export async function saveModelDir(dir: string, model: tf.LayersModel, spec: ArchSpec, masks?: MaskSet): Promise<void> {
  await model.save(tf.io.withSaveHandler(async (artifacts) => {
    writeFileAtomic(path.join(dir, WEIGHTS_BIN), toBytes(artifacts.weightData!));
    const manifest = [{ paths: [`./${WEIGHTS_BIN}`], weights: artifacts.weightSpecs! }];
    const json = { modelTopology: artifacts.modelTopology, format: artifacts.format, generatedBy: artifacts.generatedBy,
      convertedBy: artifacts.convertedBy ?? null, weightsManifest: manifest };
    writeFileAtomic(path.join(dir, MODEL_JSON), JSON.stringify(json));
    return { modelArtifactsInfo: tf.io.getModelArtifactsInfoForJSON(artifacts) };
  }));
  writeFileAtomic(path.join(dir, SPEC_JSON), `${JSON.stringify(spec, null, 2)}\n`);
  if (masks && masks.size > 0) {
    const index: Record<string, { shape: number[]; offset: number }> = {};
    const total = [...masks.values()].reduce((a, m) => a + m.size, 0);
    const bytes = new Uint8Array(total);
    let offset = 0;
    for (const [name, m] of masks) {
      index[name] = { shape: m.shape, offset };
      bytes.set(Uint8Array.from(m.dataSync(), (v) => (v !== 0 ? 1 : 0)), offset);
      offset += m.size;
    }
    writeFileAtomic(path.join(dir, 'masks.bin'), bytes);
    writeFileAtomic(path.join(dir, 'masks.json'), JSON.stringify(index));
  }
}

/** The spec of a model directory, without loading its weights. */
export function readModelSpec(dir: string): ArchSpec {
  const file = path.join(dir, SPEC_JSON);
  if (!fs.existsSync(file)) throw new ModelDirError(dir, `missing ${SPEC_JSON}`);
  return validateSpec(JSON.parse(fs.readFileSync(file, 'utf8')));
}

export interface LoadedModel {
  model: tf.LayersModel;
  spec: ArchSpec;
  masks?: MaskSet;
}

export async function loadModelDir(dir: string): Promise<LoadedModel> {
  for (const f of [MODEL_JSON, WEIGHTS_BIN, SPEC_JSON]) {
    if (!fs.existsSync(path.join(dir, f))) throw new ModelDirError(dir, `missing ${f}; is this a model directory saved by rethink-prune?`);
  }
  let json: tf.io.ModelJSON;
  try {
    json = JSON.parse(fs.readFileSync(path.join(dir, MODEL_JSON), 'utf8'));
  } catch (e) {
    throw new ModelDirError(dir, `${MODEL_JSON} is not valid JSON (${(e as Error).message})`);
  }
  const weightSpecs = json.weightsManifest.flatMap((g) => g.weights);
  const data = fs.readFileSync(path.join(dir, WEIGHTS_BIN));
  const expected = weightSpecs.reduce((a, w) => a + 4 * w.shape.reduce((p, d) => p * d, 1), 0);
  if (data.length !== expected) throw new ModelDirError(dir, `${WEIGHTS_BIN} has ${data.length} bytes, model.json expects ${expected}`);
  const weightData = data.buffer.slice(data.byteOffset, data.byteOffset + data.length);
  const model = await tf.loadLayersModel(tf.io.fromMemory({ modelTopology: json.modelTopology, weightSpecs, weightData }));
  const spec = readModelSpec(dir);
  let masks: MaskSet | undefined;
  if (fs.existsSync(path.join(dir, 'masks.json'))) {
    const index: Record<string, { shape: number[]; offset: number }> = JSON.parse(fs.readFileSync(path.join(dir, 'masks.json'), 'utf8'));
    const bytes = fs.readFileSync(path.join(dir, 'masks.bin'));
    masks = new Map(Object.entries(index).map(([name, { shape, offset }]) => {
      const size = shape.reduce((a, d) => a * d, 1);
      return [name, tf.tensor(Float32Array.from(bytes.subarray(offset, offset + size)), shape)];
    }));
  }
  return { model, spec, masks };
}
