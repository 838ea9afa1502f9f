import * as tf from '@tensorflow/tfjs';
import type { DatasetName } from '../datasets-info';
import { SpecError } from '../errors';
import { mixSeed } from '../data/rng';
import type { ArchFamily } from './family';

/**
 * A user's own tfjs Layers model as a spec: its config as `model.getConfig()` gives it, so that training can save it,
 * resume it and build it anew (fresh weights from the config's own initialisers, seeded) like the built-in families.
 * Its channels are found by tracing the built model (trace/traced-graph.ts), not from the spec: a `layers` spec has no
 * width fields to narrow or prune.
 */
export interface LayersSpec {
  arch: 'layers';
  /** The data's format the model is trained on (a label: the input shape is the config's). */
  dataset: DatasetName;
  /** `Sequential` or `Model` (functional), the class that rebuilds `config`. */
  className: 'Sequential' | 'Model';
  config: Record<string, unknown>;
}

/** The spec of a built model (a traced model after pruning, a user's model as loaded). */
export function layersSpec(model: tf.LayersModel, dataset: DatasetName): LayersSpec {
  const className = model instanceof tf.Sequential ? 'Sequential' : 'Model';
  return { arch: 'layers', dataset, className, config: JSON.parse(JSON.stringify(model.getConfig())) };
}

/** A number for a config key, so that two initialisers of one layer (depthwise, pointwise) get different seeds. */
const keyNumber = (key: string) => [...key].reduce((h, c) => (Math.imul(h, 31) + c.charCodeAt(0)) >>> 0, 7);

/** Every initialiser in a layer config gets a seed of its own: the same spec and seed build the same weights. */
function withSeededInitialisers(value: unknown, seed: number, path: number[]): unknown {
  if (Array.isArray(value)) return value.map((v, i) => withSeededInitialisers(v, seed, [...path, i]));
  if (typeof value !== 'object' || value === null) return value;
  const out: Record<string, unknown> = {};
  for (const [key, v] of Object.entries(value)) {
    const initialiser = key.endsWith('Initializer') && typeof v === 'object' && v !== null &&
      typeof (v as { config?: unknown }).config === 'object';
    out[key] = initialiser
      ? { ...(v as object), config: { ...(v as { config: object }).config, seed: mixSeed(seed, ...path, keyNumber(key)) } }
      : withSeededInitialisers(v, seed, [...path, keyNumber(key)]);
  }
  return out;
}

const notBySpec = (what: string) => new SpecError([`arch: a 'layers' model has no width fields to ${what}; its ` +
  'channels are pruned by tracing the built model (traceModel, tracedKeepSets, pruneTracedModel)']);

export const tracedFamily: ArchFamily<LayersSpec> = {
  arch: 'layers',
  modelNames: '',
  specProblems(input) {
    const problems: string[] = [];
    if (input.className !== 'Sequential' && input.className !== 'Model') {
      problems.push(`className: ${JSON.stringify(input.className)}; use "Sequential" or "Model"`);
    }
    const config = input.config as { layers?: unknown } | undefined;
    if (typeof config !== 'object' || config === null || !Array.isArray(config.layers)) {
      problems.push('config: a tfjs model config (model.getConfig()) with its layers');
    }
    return problems;
  },
  namedSpec: () => undefined,
  build(spec, seed) {
    const config = withSeededInitialisers(spec.config, seed, []) as tf.serialization.ConfigDict;
    return spec.className === 'Sequential'
      ? tf.Sequential.fromConfig(tf.Sequential, config) as tf.LayersModel
      : tf.LayersModel.fromConfig(tf.LayersModel, config) as tf.LayersModel;
  },
  channelGroups() { throw notBySpec('group'); },
  residualTies: () => [],
  withWidths() { throw notBySpec('change'); },
  narrowSpec(spec, divisor) {
    if (divisor === 1) return spec;
    throw notBySpec('narrow');
  },
  functionalInSeed: () => false,
};
