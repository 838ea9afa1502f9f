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

/** Builds the tfjs model a spec describes, initialised as the seed repository does, from `seed`. */
export function buildModel(spec: ArchSpec, seed = 0): tf.LayersModel {
  const valid = validateSpec(spec);
  return familyOf(valid).build(valid, seed);
}

/** Named specs of the paper's unpruned models, e.g. `vgg16`, `resnet56`, with the folder's variant. */
export function namedSpec(name: string, dataset: DatasetName = 'cifar10'): ArchSpec {
  for (const family of FAMILIES) {
    const spec = family.namedSpec(name, dataset);
    if (spec) return spec;
  }
  const known = FAMILIES.map((family) => family.modelNames).join(', ');
  throw new SpecError([`unknown model name '${name}'; known: ${known}`]);
}
