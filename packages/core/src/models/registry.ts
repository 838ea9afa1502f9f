import { SpecError } from '../errors';
import { densenetFamily, type DenseNetSpec } from './densenet';
import type { ArchFamily } from './family';
import { preresnetFamily, type PreResNetSpec } from './preresnet';
import { preresnetImageNetFamily, type PreResNetImageNetSpec } from './preresnet-imagenet';
import { imagenetResNetFamily, type ImageNetResNetSpec } from './resnet-imagenet';
import { resnetFamily, type ResNetSpec } from './resnet';
import { tracedFamily, type LayersSpec } from './traced';
import { imagenetVggFamily, type ImageNetVggSpec } from './vgg-imagenet';
import { vggFamily, type VggSpec } from './vgg';

/**
 * An architecture spec: a plain JSON object that fully describes a network. A pruned network is the same
 * spec with smaller widths; it round-trips through JSON and is what a user edits or shares.
 */
export type ArchSpec =
  | VggSpec | ResNetSpec | PreResNetSpec | DenseNetSpec | ImageNetResNetSpec | ImageNetVggSpec | PreResNetImageNetSpec
  | LayersSpec;

/** Every family, once; namedSpec tries them in this order and lists their names in it. */
export const FAMILIES: ReadonlyArray<ArchFamily<ArchSpec>> = [
  vggFamily, resnetFamily, preresnetFamily, densenetFamily, imagenetResNetFamily, imagenetVggFamily,
  preresnetImageNetFamily, tracedFamily,
] as Array<ArchFamily<any>>;

/** The family whose `arch` is `arch`, or undefined. */
export const findFamily = (arch: unknown) => FAMILIES.find((family) => family.arch === arch);

/** The family of a (typed) spec. */
export function familyOf<Spec extends ArchSpec>(spec: Spec): ArchFamily<Spec> {
  const family = findFamily(spec.arch);
  // Only reachable with an object cast to ArchSpec without validateSpec.
  if (!family) {
    const known = FAMILIES.map((f) => f.arch).join(', ');
    throw new SpecError([`arch: unknown architecture ${JSON.stringify(spec.arch)}; known: ${known}`]);
  }
  return family as unknown as ArchFamily<Spec>;
}
