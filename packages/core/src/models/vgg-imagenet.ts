import * as tf from '@tensorflow/tfjs';
import { DATASET_SHAPES, isDatasetName, type DatasetName } from '../datasets-info';
import type { ChannelGroup, ChannelMember } from './channels';
import { cfgEntryProblems, cfgWithWidths, isPositiveInt, narrowedWidths, type ArchFamily } from './family';
import { avgPool, batchNorm, flatten, relu, SeedSequence, type Sym } from './layers';
import { vggFeatures, type VggCfg } from './vgg';

/**
 * ImageNet VGG as the seed's imagenet folders define it: 3×3 convs with bias and 2×2 max pools from a cfg.
 * - `head: 'fc'` (or absent): five pools (224 → 7), then fc1 (7·7·C → classifier[0]) and fc2
 *   (→ classifier[1]) before the class layer `fc3`.
 * - `head: 'gap'` (ThiNet-GAP / ThiNet-Tiny, thinetvgg.py): four pools, no pool5 (the last map is 14×14), then
 *   AvgPool(14, stride 2) → 1×1 and one class layer `fc` (C → classes); no `classifier`.
 * - `batchNorm: true` (network-slimming VGG-11): conv → BN (γ 0.5) → ReLU; fc → BatchNorm1d (γ 0.5)
 *   → ReLU.
 * - `batchNorm: false` (torchvision VGG-16 of ThiNet / regression pruning): conv → ReLU; fc → ReLU
 *   → Dropout(0.5).
 * - `batchNorm: 'convs'` (torchvision's `vgg16_bn`, the weight-level folder's ImageNet VGG-16): conv → BN (γ 1) →
 *   ReLU; fc → ReLU → Dropout(0.5).
 * Layer names: `features.i.conv`/`.bn` for conv i, `fc1`, `fc1.bn`, `fc2`, `fc2.bn`, `fc3`; `avgpool`, `fc`.
 */
export interface ImageNetVggSpec {
  arch: 'vgg-imagenet';
  dataset: DatasetName;
  cfg: VggCfg;
  /** The two hidden fc widths of the `fc` head; absent with `head: 'gap'`. */
  classifier?: [number, number];
  batchNorm: boolean | 'convs';
  /** Absent: 'fc'. */
  head?: 'fc' | 'gap';
}

/** ThiNet's global-average-pooling head: AvgPool(14, stride 2) on the 14×14 map of conv5_3. */
const GAP_POOL = { size: 14, stride: 2 };
const isGapHead = (spec: { head?: unknown }) => spec.head === 'gap';
const hiddenWidths = (spec: ImageNetVggSpec): number[] => (isGapHead(spec) ? [] : spec.classifier ?? []);

export const IMAGENET_VGG_CFGS: Record<11 | 16, VggCfg> = {
  11: [64, 'M', 128, 'M', 256, 256, 'M', 512, 512, 'M', 512, 512, 'M'],
  16: [64, 64, 'M', 128, 128, 'M', 256, 256, 256, 'M', 512, 512, 512, 'M', 512, 512, 512, 'M'],
};

export function buildImageNetVgg(spec: ImageNetVggSpec, seed: number): tf.LayersModel {
  const shape = DATASET_SHAPES[spec.dataset];
  const seeds = new SeedSequence(seed);
  const input = tf.input({ shape: [shape.height, shape.width, shape.channels], name: 'input' });
  const gamma = spec.batchNorm === true ? 0.5 : spec.batchNorm === 'convs' ? 1 : null;
  let x = vggFeatures(input, spec.cfg, seeds, { bias: true, gamma });
  if (isGapHead(spec)) x = avgPool(x, 'avgpool', GAP_POOL.size, GAP_POOL.stride);
  x = flatten(x, 'flatten');
  const dense = (t: Sym, name: string, units: number) => tf.layers.dense({
    name, units, kernelInitializer: seeds.normal(0.01),
  }).apply(t) as Sym;
  if (isGapHead(spec)) {
    return tf.model({ inputs: input, outputs: dense(x, 'fc', shape.classes), name: 'vgg' });
  }
  hiddenWidths(spec).forEach((units, i) => {
    const name = `fc${i + 1}`;
    x = dense(x, name, units);
    if (spec.batchNorm === true) x = batchNorm(x, `${name}.bn`, 0.5);
    x = relu(x, `${name}.relu`);
    if (spec.batchNorm !== true) {
      x = tf.layers.dropout({ name: `${name}.dropout`, rate: 0.5, seed: seeds.take() }).apply(x) as Sym;
    }
  });
  x = dense(x, 'fc3', shape.classes);
  return tf.model({ inputs: input, outputs: x, name: 'vgg' });
}

function imagenetVggProblems(spec: Record<string, unknown>): string[] {
  const problems: string[] = [];
  if (spec.head !== undefined && spec.head !== 'fc' && spec.head !== 'gap') {
    problems.push(`head: ${JSON.stringify(spec.head)}; use "fc" (torchvision's fc1–fc3) or "gap" (ThiNet-GAP)`);
  }
  const gap = isGapHead(spec);
  const cfg = spec.cfg;
  const pools = Array.isArray(cfg) ? cfg.filter((v) => v === 'M').length : 0;
  const lastIsPool = Array.isArray(cfg) && cfg[cfg.length - 1] === 'M';
  if (!Array.isArray(cfg)) {
    problems.push(`cfg: ${JSON.stringify(cfg)}; give a list of channel counts and "M" (2×2 max pool)`);
  } else if (!gap && (pools !== 5 || !lastIsPool)) {
    problems.push('cfg: an ImageNet VGG cfg has five "M" (224 → 7×7), the last at the end; ' +
      'for ThiNet\'s 14×14 map without pool5 set head "gap"');
  } else if (gap && (pools !== 4 || lastIsPool)) {
    problems.push('cfg: with head "gap" the cfg has four "M" and ends with a conv (224 → 14×14 before ' +
      'AvgPool(14, stride 2)), e.g. ThiNet-GAP\'s [32, 32, "M", …, 512, 512, 512]');
  } else {
    problems.push(...cfgEntryProblems(cfg, true));
  }
  const classifier = spec.classifier;
  if (gap && classifier !== undefined) {
    problems.push(`classifier: ${JSON.stringify(classifier)}; head "gap" has no hidden fc layers, drop the field`);
  } else if (!gap && (!Array.isArray(classifier) || classifier.length !== 2 || !classifier.every(isPositiveInt))) {
    const given = JSON.stringify(classifier);
    problems.push(`classifier: ${given}; give the two hidden fc widths, e.g. [4096, 4096]`);
  }
  if (typeof spec.batchNorm !== 'boolean' && spec.batchNorm !== 'convs') {
    problems.push('batchNorm: true (slimming VGG-11), false (torchvision VGG-16) or "convs" (torchvision VGG-16-BN)');
  }
  if (isDatasetName(spec.dataset) && DATASET_SHAPES[spec.dataset].height !== 224) {
    problems.push(`dataset: ${spec.dataset}; ImageNet VGGs take 224×224 input`);
  }
  return problems;
}

/**
 * `vgg11-imagenet` (network slimming, with BN also in the fc layers), `vgg16-imagenet` (torchvision's `vgg16`, no BN)
 * and `vgg16-bn-imagenet` (torchvision's `vgg16_bn`: BN after each conv).
 */
function namedImageNetVgg(name: string): ImageNetVggSpec | undefined {
  const forms: Record<string, [11 | 16, boolean | 'convs']> =
    { 'vgg11-imagenet': [11, true], 'vgg16-imagenet': [16, false], 'vgg16-bn-imagenet': [16, 'convs'] };
  if (!Object.prototype.hasOwnProperty.call(forms, name)) return undefined;
  const [depth, batchNorm] = forms[name];
  return { arch: 'vgg-imagenet', dataset: 'imagenet', cfg: [...IMAGENET_VGG_CFGS[depth]], classifier: [4096, 4096], batchNorm };
}

/**
 * One group per conv (specIndex in cfg) and per hidden fc layer (specIndex cfg.length + j). The last conv feeds
 * fc1 at 7×7 positions (fc head) or, after the 14×14 average pooling, the class layer `fc` once (gap head).
 */
function imagenetVggGroups(spec: ImageNetVggSpec): ChannelGroup[] {
  const convs = spec.cfg.map((width, index) => ({ width, index })).filter((entry) => entry.width !== 'M');
  const batchNorm = (layer: string): ChannelMember[] => (spec.batchNorm ? [{ layer, kind: 'bn' }] : []);
  const fcBatchNorm = (layer: string): ChannelMember[] => (spec.batchNorm === true ? [{ layer, kind: 'bn' }] : []);
  const lastConvReader: ChannelMember = isGapHead(spec)
    ? { layer: 'fc', kind: 'dense-in', repeat: 1 }
    : { layer: 'fc1', kind: 'dense-in', repeat: 49 }; // 7×7 positions
  const groups: ChannelGroup[] = convs.map(({ width, index }, k) => ({
    id: `features.${k}.conv`, size: width as number, specIndex: index,
    members: [
      { layer: `features.${k}.conv`, kind: 'conv-out' },
      ...batchNorm(`features.${k}.bn`),
      k + 1 < convs.length
        ? { layer: `features.${k + 1}.conv`, kind: 'conv-in' }
        : lastConvReader,
    ],
  }));
  hiddenWidths(spec).forEach((units, j) => groups.push({
    id: `fc${j + 1}`, size: units, specIndex: spec.cfg.length + j,
    members: [
      { layer: `fc${j + 1}`, kind: 'dense-out' },
      ...fcBatchNorm(`fc${j + 1}.bn`),
      { layer: `fc${j + 2}`, kind: 'dense-in', repeat: 1 },
    ],
  }));
  return groups;
}

function imagenetVggWithWidths(spec: ImageNetVggSpec, widths: ReadonlyMap<string, number>): ImageNetVggSpec {
  const all = cfgWithWidths([...spec.cfg, ...hiddenWidths(spec)], imagenetVggGroups(spec), widths);
  const cfg = all.slice(0, spec.cfg.length);
  if (isGapHead(spec)) return { ...spec, cfg };
  return { ...spec, cfg, classifier: all.slice(spec.cfg.length) as [number, number] };
}

export const imagenetVggFamily: ArchFamily<ImageNetVggSpec> = {
  arch: 'vgg-imagenet',
  modelNames: 'vgg11-imagenet (BN, also in fc), vgg16-imagenet, vgg16-bn-imagenet',
  specProblems: imagenetVggProblems,
  namedSpec: namedImageNetVgg,
  build: buildImageNetVgg,
  channelGroups: imagenetVggGroups,
  residualTies: () => [],
  withWidths: imagenetVggWithWidths,
  // Every conv and the hidden fc layers; the class layer keeps its outputs.
  narrowSpec: (spec, divisor) =>
    imagenetVggWithWidths(spec, narrowedWidths(imagenetVggGroups(spec), divisor)),
  // thinetvgg.py builds its AvgPool2d(14, 2) inside forward, where compute_flops.py's hooks never see it.
  functionalInSeed: (layerName) => layerName === 'avgpool',
};
