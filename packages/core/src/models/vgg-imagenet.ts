import * as tf from '@tensorflow/tfjs';
import { DATASET_SHAPES, isDatasetName, type DatasetName } from '../datasets-info';
import type { ChannelGroup, ChannelMember } from '../graph';
import { cfgEntryProblems, cfgWithWidths, isPositiveInt, narrowedWidths, type ArchFamily } from './family';
import { batchNorm, flatten, relu, SeedSequence, type Sym } from './layers';
import { vggFeatures, type VggCfg } from './vgg';

/**
 * ImageNet VGG as the seed's imagenet folders define it: 3×3 convs with bias, five 2×2 max pools (224 → 7),
 * then fc1 (7·7·C → classifier[0]) and fc2 (→ classifier[1]) before the class layer.
 * - `batchNorm: true` (network-slimming VGG-11): conv → BN (γ 0.5) → ReLU; fc → BatchNorm1d (γ 0.5) → ReLU.
 * - `batchNorm: false` (torchvision VGG-16 of ThiNet / regression pruning): conv → ReLU; fc → ReLU → Dropout(0.5).
 * Layer names: `features.i.conv`/`.bn` for conv i, `fc1`, `fc1.bn`, `fc2`, `fc2.bn`, `fc3`.
 */
export interface ImageNetVggSpec {
  arch: 'vgg-imagenet';
  dataset: DatasetName;
  cfg: VggCfg;
  classifier: [number, number];
  batchNorm: boolean;
}

export const IMAGENET_VGG_CFGS: Record<11 | 16, VggCfg> = {
  11: [64, 'M', 128, 'M', 256, 256, 'M', 512, 512, 'M', 512, 512, 'M'],
  16: [64, 64, 'M', 128, 128, 'M', 256, 256, 256, 'M', 512, 512, 512, 'M', 512, 512, 512, 'M'],
};

export function buildImageNetVgg(spec: ImageNetVggSpec, seed: number): tf.LayersModel {
  const shape = DATASET_SHAPES[spec.dataset];
  const seeds = new SeedSequence(seed);
  const input = tf.input({ shape: [shape.height, shape.width, shape.channels], name: 'input' });
  let x = vggFeatures(input, spec.cfg, seeds, { bias: true, gamma: spec.batchNorm ? 0.5 : null });
  x = flatten(x, 'flatten');
  const dense = (t: Sym, name: string, units: number) => tf.layers.dense({
    name, units, kernelInitializer: tf.initializers.randomNormal({ mean: 0, stddev: 0.01, seed: seeds.take() }),
  }).apply(t) as Sym;
  spec.classifier.forEach((units, i) => {
    const name = `fc${i + 1}`;
    x = dense(x, name, units);
    if (spec.batchNorm) x = batchNorm(x, `${name}.bn`, 0.5);
    x = relu(x, `${name}.relu`);
    if (!spec.batchNorm) x = tf.layers.dropout({ name: `${name}.dropout`, rate: 0.5, seed: seeds.take() }).apply(x) as Sym;
  });
  x = dense(x, 'fc3', shape.classes);
  return tf.model({ inputs: input, outputs: x, name: 'vgg' });
}

function imagenetVggProblems(spec: Record<string, unknown>): string[] {
  const problems: string[] = [];
  const cfg = spec.cfg;
  if (!Array.isArray(cfg) || cfg.filter((v) => v === 'M').length !== 5 || cfg[cfg.length - 1] !== 'M') {
    problems.push('cfg: an ImageNet VGG cfg has five "M" (224 → 7×7), the last at the end');
  } else {
    problems.push(...cfgEntryProblems(cfg, true));
  }
  const classifier = spec.classifier;
  if (!Array.isArray(classifier) || classifier.length !== 2 || !classifier.every(isPositiveInt)) {
    const given = JSON.stringify(classifier);
    problems.push(`classifier: ${given}; give the two hidden fc widths, e.g. [4096, 4096]`);
  }
  if (typeof spec.batchNorm !== 'boolean') {
    problems.push('batchNorm: true (slimming VGG-11) or false (torchvision VGG-16)');
  }
  if (isDatasetName(spec.dataset) && DATASET_SHAPES[spec.dataset].height !== 224) {
    problems.push(`dataset: ${spec.dataset}; ImageNet VGGs take 224×224 input`);
  }
  return problems;
}

/** `vgg11-imagenet` (network slimming, with BN) and `vgg16-imagenet` (torchvision's, without). */
function namedImageNetVgg(name: string): ImageNetVggSpec | undefined {
  const depth = { 'vgg11-imagenet': 11, 'vgg16-imagenet': 16 }[name] as 11 | 16 | undefined;
  if (depth === undefined) return undefined;
  const cfg = [...IMAGENET_VGG_CFGS[depth]];
  return { arch: 'vgg-imagenet', dataset: 'imagenet', cfg, classifier: [4096, 4096], batchNorm: depth === 11 };
}

/** One group per conv (specIndex in cfg) and per hidden fc layer (specIndex cfg.length + j). */
function imagenetVggGroups(spec: ImageNetVggSpec): ChannelGroup[] {
  const convs = spec.cfg.map((width, index) => ({ width, index })).filter((entry) => entry.width !== 'M');
  const batchNorm = (layer: string): ChannelMember[] => (spec.batchNorm ? [{ layer, kind: 'bn' }] : []);
  const groups: ChannelGroup[] = convs.map(({ width, index }, k) => ({
    id: `features.${k}.conv`, size: width as number, specIndex: index,
    members: [
      { layer: `features.${k}.conv`, kind: 'conv-out' },
      ...batchNorm(`features.${k}.bn`),
      k + 1 < convs.length
        ? { layer: `features.${k + 1}.conv`, kind: 'conv-in' }
        : { layer: 'fc1', kind: 'dense-in', repeat: 49 }, // 7×7 positions
    ],
  }));
  spec.classifier.forEach((units, j) => groups.push({
    id: `fc${j + 1}`, size: units, specIndex: spec.cfg.length + j,
    members: [
      { layer: `fc${j + 1}`, kind: 'dense-out' },
      ...batchNorm(`fc${j + 1}.bn`),
      { layer: `fc${j + 2}`, kind: 'dense-in', repeat: 1 },
    ],
  }));
  return groups;
}

function imagenetVggWithWidths(spec: ImageNetVggSpec, widths: ReadonlyMap<string, number>): ImageNetVggSpec {
  const all = cfgWithWidths([...spec.cfg, ...spec.classifier], imagenetVggGroups(spec), widths);
  const classifier = all.slice(spec.cfg.length) as [number, number];
  return { ...spec, cfg: all.slice(0, spec.cfg.length), classifier };
}

export const imagenetVggFamily: ArchFamily<ImageNetVggSpec> = {
  arch: 'vgg-imagenet',
  modelNames: 'vgg11-imagenet (slimming, BN), vgg16-imagenet',
  specProblems: imagenetVggProblems,
  namedSpec: namedImageNetVgg,
  build: buildImageNetVgg,
  channelGroups: imagenetVggGroups,
  residualTies: () => [],
  withWidths: imagenetVggWithWidths,
  // Every conv and both hidden fc layers; the class layer keeps its outputs.
  narrowSpec: (spec, divisor) =>
    imagenetVggWithWidths(spec, narrowedWidths(imagenetVggGroups(spec), divisor)),
  functionalInSeed: () => false,
};
