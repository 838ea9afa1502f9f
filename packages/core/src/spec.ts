import type * as tf from '@tensorflow/tfjs';
import { DATASET_SHAPES, isDatasetName, type DatasetName } from './datasets-info';
import { SpecError } from './errors';
import type { DenseNetSpec } from './models/densenet';
import type { PreResNetSpec } from './models/preresnet';
import type { PreResNetImageNetSpec } from './models/preresnet-imagenet';
import { FAMILIES, familyOf, findFamily, type ArchSpec } from './models/registry';
import type { ImageNetResNetSpec } from './models/resnet-imagenet';
import type { ResNetSpec } from './models/resnet';
import type { ImageNetVggSpec } from './models/vgg-imagenet';
import type { VggSpec } from './models/vgg';

export type {
  ArchSpec, DenseNetSpec, ImageNetResNetSpec, ImageNetVggSpec, PreResNetImageNetSpec, PreResNetSpec, ResNetSpec, VggSpec,
};

/** The `arch` of every family, in the registry's order. */
export const ARCHS: ReadonlyArray<ArchSpec['arch']> = FAMILIES.map((family) => family.arch);

/** Checks an untrusted object (e.g. parsed JSON) and returns it typed; lists every problem at once. */
export function validateSpec(input: unknown): ArchSpec {
  if (typeof input !== 'object' || input === null || Array.isArray(input)) {
    throw new SpecError(['a spec must be a JSON object']);
  }
  const spec = input as Record<string, unknown>;
  const problems: string[] = [];
  const family = findFamily(spec.arch);
  if (!family) {
    problems.push(`arch: unknown architecture ${JSON.stringify(spec.arch)}; known: ${ARCHS.join(', ')}`);
  }
  if (!isDatasetName(spec.dataset)) {
    const known = Object.keys(DATASET_SHAPES).join(', ');
    problems.push(`dataset: unknown dataset ${JSON.stringify(spec.dataset)}; known: ${known}`);
  }
  if (family) problems.push(...family.specProblems(spec));
  if (problems.length > 0) throw new SpecError(problems);
  return input as ArchSpec;
}

/**
 * A spec.json written before core named no method in its specs, in today's fields: VGG `weightLevel` → `convBias`,
 * `bnGamma: 1`, `convInit: 'fan-in'`; PreResNet `weightLevel` and DenseNet `variant: 'weight-level'` →
 * `channelSelection: false`, `bnGamma: 1` (DenseNet `variant: 'slimming'` is today's default); ResNet `form: 'sfp'` →
 * `shortcutPool: 1`, `shortcutGradient: true`, `fcInit: 'kaiming-normal'`, `functionalReLU: true`. The same model;
 * a run key that holds the old spec still differs (its stages are stale: --fresh trains them again).
 */
export function upgradeSpec(input: unknown): unknown {
  if (typeof input !== 'object' || input === null || Array.isArray(input)) return input;
  const { weightLevel, variant, form, ...spec } = input as Record<string, unknown>;
  if (spec.arch === 'vgg' && weightLevel === true) return { ...spec, convBias: true, bnGamma: 1, convInit: 'fan-in' };
  if (spec.arch === 'preresnet' && weightLevel === true) return { ...spec, channelSelection: false, bnGamma: 1 };
  if (spec.arch === 'densenet' && variant === 'weight-level') return { ...spec, channelSelection: false, bnGamma: 1 };
  if (spec.arch === 'resnet' && form === 'sfp') {
    return { ...spec, shortcutPool: 1, shortcutGradient: true, fcInit: 'kaiming-normal', functionalReLU: true };
  }
  const old = (weightLevel === false || weightLevel === undefined) && (variant === 'slimming' || variant === undefined) &&
    form === undefined;
  return old ? spec : input; // anything else stays as it was, for validateSpec to name
}

/** Builds the tfjs model a spec describes, initialised as the seed repository does, from `seed`. */
export function buildModel(spec: ArchSpec, seed = 0): tf.LayersModel {
  const valid = validateSpec(spec);
  return familyOf(valid).build(valid, seed);
}

/**
 * Named models a method package adds to core's: its folder's form of a family's model, written in the family's
 * fields (method-weight-level: `vgg19-wl` is a VGG with `convBias`, `bnGamma: 1`, `convInit: 'fan-in'`).
 */
export interface NamedModels {
  /** What the names look like, for error messages (`vgg11|13|16|19-wl`). */
  modelNames: string;
  namedSpec(name: string, dataset: DatasetName): ArchSpec | undefined;
}

const REGISTERED: NamedModels[] = [];

/** Adds a method package's named models; a source registered twice (a module loaded twice) counts once. */
export function registerModelNames(models: NamedModels): void {
  if (!REGISTERED.some((known) => known.modelNames === models.modelNames)) REGISTERED.push(models);
}

/**
 * Named specs of the paper's unpruned models, e.g. `vgg16`, `resnet56`, and those method packages registered
 * (`resnet56-sfp`, `vgg19-wl`, …), once their package is loaded.
 */
export function namedSpec(name: string, dataset: DatasetName = 'cifar10'): ArchSpec {
  for (const source of [...FAMILIES, ...REGISTERED]) {
    const spec = source.namedSpec(name, dataset);
    if (spec) return spec;
  }
  const known = [...FAMILIES, ...REGISTERED].map((source) => source.modelNames).filter(Boolean).join(', ');
  throw new SpecError([`unknown model name '${name}'; known: ${known} (a method package adds its own models ` +
    'when it is loaded)']);
}
