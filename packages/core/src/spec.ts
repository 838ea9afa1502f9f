import type * as tf from '@tensorflow/tfjs';
import { DATASET_SHAPES, isDatasetName } from './datasets-info';
import { SpecError } from './errors';
import { buildDenseNet, defaultDenseNetCfg, densenetBlocksPerStage, densenetUnits, type DenseNetSpec } from './models/densenet';
import { buildImageNetResNet, defaultImageNetResNetCfg, IMAGENET_RESNET_LAYERS, isBottleneckDepth, type ImageNetResNetSpec } from './models/resnet-imagenet';
import { buildImageNetVgg, IMAGENET_VGG_CFGS, type ImageNetVggSpec } from './models/vgg-imagenet';
import { buildPreResNet, defaultPreResNetCfg, preresnetBlocksPerStage, preresnetSelections, type PreResNetSpec } from './models/preresnet';
import { buildResNet, defaultResNetCfg, resnetBlocksPerStage, type ResNetSpec } from './models/resnet';
import { buildVgg, VGG_CFGS, type VggSpec } from './models/vgg';

/**
 * An architecture spec: a plain JSON object that fully describes a network. A pruned network is the same
 * spec with smaller widths; it round-trips through JSON and is what a user edits or shares.
 */
export type ArchSpec = VggSpec | ResNetSpec | PreResNetSpec | DenseNetSpec | ImageNetResNetSpec | ImageNetVggSpec;
export type { DenseNetSpec, ImageNetResNetSpec, ImageNetVggSpec, PreResNetSpec, ResNetSpec, VggSpec };

export const ARCHS = ['vgg', 'resnet', 'preresnet', 'densenet', 'resnet-imagenet', 'vgg-imagenet'] as const;

const isPositiveInt = (v: unknown) => typeof v === 'number' && Number.isInteger(v) && v > 0;

/** Checks an untrusted object (e.g. parsed JSON) and returns it typed; lists every problem at once. */
export function validateSpec(input: unknown): ArchSpec {
  const problems: string[] = [];
  if (typeof input !== 'object' || input === null || Array.isArray(input)) throw new SpecError(['a spec must be a JSON object']);
  const s = input as Record<string, unknown>;
  if (!(ARCHS as readonly unknown[]).includes(s.arch)) {
    problems.push(`arch: unknown architecture ${JSON.stringify(s.arch)}; known: ${ARCHS.join(', ')}`);
  }
  if (!isDatasetName(s.dataset)) {
    problems.push(`dataset: unknown dataset ${JSON.stringify(s.dataset)}; known: ${Object.keys(DATASET_SHAPES).join(', ')}`);
  }
  if (s.arch === 'vgg') {
    if (!Array.isArray(s.cfg) || s.cfg.length === 0) {
      problems.push('cfg: must be a non-empty list of channel counts and "M"');
    } else {
      s.cfg.forEach((v, i) => {
        if (v !== 'M' && !isPositiveInt(v)) problems.push(`cfg[${i}]: ${JSON.stringify(v)} is not a channel count > 0 or "M"`);
      });
      const pools = s.cfg.filter((v) => v === 'M').length;
      if (isDatasetName(s.dataset) && DATASET_SHAPES[s.dataset].height / 2 ** pools < 2) {
        problems.push(`cfg: ${pools} max pools shrink a ${DATASET_SHAPES[s.dataset].height}px input below 2×2 before the final 2×2 pooling`);
      }
    }
    if (s.classifier !== 'linear' && s.classifier !== 'bn-mlp') {
      problems.push(`classifier: ${JSON.stringify(s.classifier)}; use "linear" (network-slimming VGG) or "bn-mlp" (l1-norm VGG)`);
    }
  } else if (s.arch === 'resnet') {
    if (!isPositiveInt(s.depth) || ((s.depth as number) - 2) % 6 !== 0) {
      problems.push(`depth: ${JSON.stringify(s.depth)}; a CIFAR ResNet has depth 6n+2 (20, 32, 56, 110)`);
    } else {
      const blocks = 3 * resnetBlocksPerStage(s.depth as number);
      if (!Array.isArray(s.cfg) || s.cfg.length !== blocks) {
        problems.push(`cfg: ResNet-${s.depth} needs ${blocks} inner widths (one per block), got ${Array.isArray(s.cfg) ? s.cfg.length : JSON.stringify(s.cfg)}`);
      } else {
        s.cfg.forEach((v, i) => { if (!isPositiveInt(v)) problems.push(`cfg[${i}]: ${JSON.stringify(v)} is not a channel count > 0`); });
      }
      if (s.stageWidths !== undefined && (!Array.isArray(s.stageWidths) || s.stageWidths.length !== 3 || !s.stageWidths.every(isPositiveInt))) {
        problems.push(`stageWidths: ${JSON.stringify(s.stageWidths)}; give three channel counts > 0, e.g. [16, 32, 64]`);
      }
    }
  } else if (s.arch === 'preresnet') {
    problems.push(...preresnetProblems(s));
  } else if (s.arch === 'densenet') {
    problems.push(...densenetProblems(s));
  } else if (s.arch === 'resnet-imagenet') {
    const layers = IMAGENET_RESNET_LAYERS[s.depth as 34];
    if (!layers) {
      problems.push(`depth: ${JSON.stringify(s.depth)}; an ImageNet ResNet has depth 18, 34, 50 or 101`);
    } else {
      const want = layers.reduce((a, b) => a + b, 0) * (isBottleneckDepth(s.depth as number) ? 2 : 1);
      if (!Array.isArray(s.cfg) || s.cfg.length !== want) {
        problems.push(`cfg: ResNet-${s.depth} needs ${want} inner widths, got ${Array.isArray(s.cfg) ? s.cfg.length : JSON.stringify(s.cfg)}`);
      } else {
        s.cfg.forEach((v, i) => { if (!isPositiveInt(v)) problems.push(`cfg[${i}]: ${JSON.stringify(v)} is not a channel count > 0`); });
      }
    }
    if (s.planes !== undefined && (!Array.isArray(s.planes) || s.planes.length !== 4 || !s.planes.every(isPositiveInt))) {
      problems.push(`planes: ${JSON.stringify(s.planes)}; give the four stage widths, e.g. [64, 128, 256, 512]`);
    }
    if (isDatasetName(s.dataset) && DATASET_SHAPES[s.dataset].height !== 224) problems.push(`dataset: ${s.dataset}; ImageNet ResNets take 224×224 input`);
  } else if (s.arch === 'vgg-imagenet') {
    if (!Array.isArray(s.cfg) || s.cfg.filter((v) => v === 'M').length !== 5 || s.cfg[s.cfg.length - 1] !== 'M') {
      problems.push('cfg: an ImageNet VGG cfg has five "M" (224 → 7×7), the last at the end');
    } else {
      s.cfg.forEach((v, i) => { if (v !== 'M' && !isPositiveInt(v)) problems.push(`cfg[${i}]: ${JSON.stringify(v)} is not a channel count > 0 or "M"`); });
    }
    if (!Array.isArray(s.classifier) || s.classifier.length !== 2 || !s.classifier.every(isPositiveInt)) {
      problems.push(`classifier: ${JSON.stringify(s.classifier)}; give the two hidden fc widths, e.g. [4096, 4096]`);
    }
    if (typeof s.batchNorm !== 'boolean') problems.push('batchNorm: true (slimming VGG-11) or false (torchvision VGG-16)');
    if (isDatasetName(s.dataset) && DATASET_SHAPES[s.dataset].height !== 224) problems.push(`dataset: ${s.dataset}; ImageNet VGGs take 224×224 input`);
  }
  if (problems.length > 0) throw new SpecError(problems);
  return input as ArchSpec;
}

function preresnetProblems(s: Record<string, unknown>): string[] {
  const problems: string[] = [];
  if (!isPositiveInt(s.depth) || ((s.depth as number) - 2) % 9 !== 0) {
    return [`depth: ${JSON.stringify(s.depth)}; a PreResNet has depth 9n+2 (110, 164)`];
  }
  const want = 9 * preresnetBlocksPerStage(s.depth as number) + 1;
  if (!Array.isArray(s.cfg) || s.cfg.length !== want) {
    return [`cfg: PreResNet-${s.depth} needs ${want} widths (3 per block and the final one), got ${Array.isArray(s.cfg) ? s.cfg.length : JSON.stringify(s.cfg)}`];
  }
  s.cfg.forEach((v, i) => { if (!isPositiveInt(v)) problems.push(`cfg[${i}]: ${JSON.stringify(v)} is not a channel count > 0`); });
  if (s.weightLevel) {
    const def = defaultPreResNetCfg(s.depth as number);
    if (s.selections !== undefined || (s.cfg as number[]).some((v, i) => v !== def[i])) {
      problems.push('weightLevel: the weight-level PreResNet has no channel selection; cfg must be the default and selections absent');
    }
    return problems;
  }
  const selections = (s.selections ?? {}) as Record<string, unknown>;
  const known = preresnetSelections(s as unknown as PreResNetSpec);
  for (const name of Object.keys(selections)) {
    if (!known.some((k) => k.name === name)) problems.push(`selections.${name}: no such selection layer`);
  }
  for (const sel of known) {
    const width = (s.cfg as number[])[sel.cfgIndex];
    const kept = selections[sel.name];
    if (kept === undefined) {
      if (width !== sel.channels) problems.push(`cfg[${sel.cfgIndex}]: ${width} channels selected from ${sel.bn} (${sel.channels}) needs selections.${sel.name}`);
      continue;
    }
    if (!Array.isArray(kept) || kept.length !== width) {
      problems.push(`selections.${sel.name}: must list cfg[${sel.cfgIndex}] = ${width} channel indices`);
    } else if (kept.some((c, i) => !Number.isInteger(c) || c < 0 || c >= sel.channels || (i > 0 && c <= kept[i - 1]))) {
      problems.push(`selections.${sel.name}: indices must be increasing integers in 0..${sel.channels - 1}`);
    }
  }
  return problems;
}

function densenetProblems(s: Record<string, unknown>): string[] {
  if (s.variant !== 'slimming' && s.variant !== 'weight-level') return [`variant: ${JSON.stringify(s.variant)}; use "slimming" or "weight-level"`];
  if (s.growthRate !== undefined && !isPositiveInt(s.growthRate)) return [`growthRate: ${JSON.stringify(s.growthRate)} is not a positive integer`];
  if (s.compressionRate !== undefined && !(typeof s.compressionRate === 'number' && s.compressionRate >= 1)) return [`compressionRate: ${JSON.stringify(s.compressionRate)}; use 1 or 2`];
  const n = isPositiveInt(s.depth) ? densenetBlocksPerStage(s as unknown as DenseNetSpec) : NaN;
  if (!Number.isInteger(n) || n < 1) return [`depth: ${JSON.stringify(s.depth)}; a DenseNet has depth 3n+4 (6n+4 with bottlenecks)`];
  if (s.variant === 'weight-level') {
    return s.cfg !== undefined || s.selections !== undefined ? ['cfg/selections: only the slimming variant has channel selections'] : [];
  }
  if (s.bottleneck) return ['bottleneck: the slimming DenseNet has basic blocks only'];
  const units = densenetUnits(s as unknown as DenseNetSpec);
  if (!Array.isArray(s.cfg) || s.cfg.length !== units.length) {
    return [`cfg: DenseNet-${s.depth} (slimming) needs ${units.length} selected widths, got ${Array.isArray(s.cfg) ? s.cfg.length : JSON.stringify(s.cfg)}`];
  }
  const problems: string[] = [];
  const selections = (s.selections ?? {}) as Record<string, unknown>;
  units.forEach((u, i) => {
    const name = u.name ? `${u.name}.select` : 'select';
    const width = (s.cfg as unknown[])[i];
    const kept = selections[name];
    if (!isPositiveInt(width)) problems.push(`cfg[${i}]: ${JSON.stringify(width)} is not a channel count > 0`);
    else if (kept === undefined && width !== u.inplanes) problems.push(`cfg[${i}]: ${width} of ${u.inplanes} channels needs selections.${name}`);
    else if (kept !== undefined && (!Array.isArray(kept) || kept.length !== width ||
      kept.some((c, j) => !Number.isInteger(c) || c < 0 || c >= u.inplanes || (j > 0 && c <= kept[j - 1])))) {
      problems.push(`selections.${name}: must list ${width} increasing channel indices in 0..${u.inplanes - 1}`);
    }
  });
  return problems;
}

/** Builds the tfjs model a spec describes, initialised as the seed repository does, from `seed`. */
export function buildModel(spec: ArchSpec, seed = 0): tf.LayersModel {
  const valid = validateSpec(spec);
  switch (valid.arch) {
    case 'vgg': return buildVgg(valid, seed);
    case 'resnet': return buildResNet(valid, seed);
    case 'preresnet': return buildPreResNet(valid, seed);
    case 'densenet': return buildDenseNet(valid, seed);
    case 'resnet-imagenet': return buildImageNetResNet(valid, seed);
    case 'vgg-imagenet': return buildImageNetVgg(valid, seed);
  }
}

/** Named specs of the paper's unpruned models, e.g. `vgg16`, `resnet56`, with the folder's variant. */
export function namedSpec(name: string, dataset: ArchSpec['dataset'] = 'cifar10'): ArchSpec {
  const vgg = /^vgg(11|13|16|19)(-slimming|-wl)?$/.exec(name);
  if (vgg) {
    const cfg = [...VGG_CFGS[Number(vgg[1]) as 16]];
    if (vgg[2] === '-wl') return { arch: 'vgg', dataset, cfg, classifier: 'linear', weightLevel: true };
    return { arch: 'vgg', dataset, cfg, classifier: vgg[2] ? 'linear' : 'bn-mlp' };
  }
  const resnet = /^resnet(\d+)$/.exec(name);
  if (resnet && (Number(resnet[1]) - 2) % 6 === 0) {
    return { arch: 'resnet', dataset, depth: Number(resnet[1]), cfg: defaultResNetCfg(Number(resnet[1])) };
  }
  const pre = /^preresnet(\d+)(-wl)?$/.exec(name);
  if (pre && (Number(pre[1]) - 2) % 9 === 0) {
    const spec: PreResNetSpec = { arch: 'preresnet', dataset, depth: Number(pre[1]), cfg: defaultPreResNetCfg(Number(pre[1])) };
    return pre[2] ? { ...spec, weightLevel: true } : spec;
  }
  const imagenet = /^resnet(18|34|50|101)-imagenet$/.exec(name);
  if (imagenet) {
    const depth = Number(imagenet[1]) as ImageNetResNetSpec['depth'];
    return { arch: 'resnet-imagenet', dataset: 'imagenet', depth, cfg: defaultImageNetResNetCfg(depth) };
  }
  if (name === 'vgg11-imagenet') return { arch: 'vgg-imagenet', dataset: 'imagenet', cfg: [...IMAGENET_VGG_CFGS[11]], classifier: [4096, 4096], batchNorm: true };
  if (name === 'vgg16-imagenet') return { arch: 'vgg-imagenet', dataset: 'imagenet', cfg: [...IMAGENET_VGG_CFGS[16]], classifier: [4096, 4096], batchNorm: false };
  if (name === 'densenet40') {
    const base = { arch: 'densenet' as const, dataset, depth: 40, variant: 'slimming' as const };
    return { ...base, cfg: defaultDenseNetCfg(base) };
  }
  if (name === 'densenet40-wl') return { arch: 'densenet', dataset, depth: 40, variant: 'weight-level' };
  if (name === 'densenet-bc100') return { arch: 'densenet', dataset, depth: 100, variant: 'weight-level', bottleneck: true, compressionRate: 2 };
  throw new SpecError([`unknown model name '${name}'; known: vgg11|13|16|19 (l1-norm head), vgg…-slimming, vgg…-wl, resnet20|32|56|110, ` +
    'preresnet110|164 (slimming), preresnet110-wl, densenet40 (slimming), densenet40-wl, densenet-bc100 (weight-level), resnet18|34|50|101-imagenet, vgg11-imagenet (slimming, BN), vgg16-imagenet']);
}
