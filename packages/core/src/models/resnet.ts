import * as tf from '@tensorflow/tfjs';
import { DATASET_SHAPES, type DatasetName } from '../datasets-info';
import type { ChannelGroup, ChannelMember, TiedChannels } from '../graph';
import {
  cfgEntryProblems, cfgWithWidths, isPositiveInt, lengthOrValue, narrow, type ArchFamily,
} from './family';
import { avgPool, batchNorm, conv, flatten, kaimingLinear, pytorchLinear, relu, SeedSequence, type Sym } from './layers';
import { StopGradientConv2D } from './stop-gradient';

/**
 * CIFAR ResNet of the l1-norm folder: depth 6n+2, three stages of n basic blocks (16, 32, 64 channels).
 * Each block's inner width (conv1's filters) comes from `cfg`, one entry per block, so L1 pruning of the
 * first conv of each block is a spec edit. When the width changes, the shortcut is 2×2 average pooling
 * and zero channels (no parameters): a fixed, non-trainable 1×1 conv with an identity kernel, so the saved
 * model is standard tfjs layers. As in the seed (`downsample_basic_block` builds it from `x.data`), that
 * shortcut passes no gradient: the block's input gets gradient through conv1 only.
 */
export interface ResNetSpec {
  arch: 'resnet';
  dataset: DatasetName;
  depth: number;
  /** Inner width of each block, 3n entries; default [16]*n + [32]*n + [64]*n. */
  cfg: number[];
  /** Output widths of the three stages; default [16, 32, 64] (narrower for the quick profile). */
  stageWidths?: number[];
  /**
   * `sfp`: the ResNet of Soft Filter Pruning (he-y/soft-filter-pruning, which the seed's SFP folder imports): its
   * shortcut subsamples (AvgPool kernel 1, stride 2) and pads zero channels with the gradient passing, the fc is
   * Kaiming-normal, and its ReLUs are functions (its FLOPs counter does not see them). Absent: the l1-norm folder's.
   */
  form?: 'sfp';
}

export const RESNET_STAGE_WIDTHS = [16, 32, 64];

export function resnetBlocksPerStage(depth: number): number {
  return (depth - 2) / 6;
}

export function defaultResNetCfg(depth: number, stageWidths = RESNET_STAGE_WIDTHS): number[] {
  const n = resnetBlocksPerStage(depth);
  return stageWidths.flatMap((w) => new Array(n).fill(w));
}

export const stageWidthsOf = (spec: ResNetSpec) => spec.stageWidths ?? RESNET_STAGE_WIDTHS;

export const resnetBlockName = (stage: number, block: number) => `layer${stage + 1}.${block}`;
export const SHORTCUT_SUFFIX = '.shortcut';

export function buildResNet(spec: ResNetSpec, seed: number): tf.LayersModel {
  const shape = DATASET_SHAPES[spec.dataset];
  const seeds = new SeedSequence(seed);
  const n = resnetBlocksPerStage(spec.depth);
  const input = tf.input({ shape: [shape.height, shape.width, shape.channels], name: 'input' });
  const widths = stageWidthsOf(spec);
  let x = relu(batchNorm(conv(input, 'conv1', widths[0], { seeds }), 'bn1'), 'relu');
  let inplanes = widths[0];
  const shortcuts: Array<{ name: string; from: number; to: number }> = [];
  widths.forEach((planes, s) => {
    for (let b = 0; b < n; b++) {
      const name = resnetBlockName(s, b);
      const stride = s > 0 && b === 0 ? 2 : 1;
      let out = conv(x, `${name}.conv1`, spec.cfg[s * n + b], { stride, seeds });
      out = relu(batchNorm(out, `${name}.bn1`), `${name}.relu1`);
      out = batchNorm(conv(out, `${name}.conv2`, planes, { seeds }), `${name}.bn2`);
      let residual = x;
      if (stride !== 1 || inplanes !== planes) {
        const sfp = spec.form === 'sfp';
        // SFP's DownsampleA is AvgPool2d(kernel 1, stride 2), a subsampling; the l1-norm folder pools 2×2.
        const pooled = stride === 2 ? avgPool(x, `${name}.downsample`, sfp ? 1 : 2, 2) : x;
        const padding = {
          name: `${name}${SHORTCUT_SUFFIX}`, filters: planes, kernelSize: 1, useBias: false, trainable: false,
          kernelInitializer: 'zeros' as const,
        };
        // The l1-norm folder builds the shortcut from x.data (no gradient); SFP's passes the gradient.
        residual = (sfp ? tf.layers.conv2d(padding) : new StopGradientConv2D(padding)).apply(pooled) as Sym;
        shortcuts.push({ name: `${name}${SHORTCUT_SUFFIX}`, from: inplanes, to: planes });
      }
      x = relu(tf.layers.add({ name: `${name}.add` }).apply([out, residual]) as Sym, `${name}.relu2`);
      inplanes = planes;
    }
  });
  x = flatten(avgPool(x, 'avgpool', shape.height / 4), 'flatten');
  x = spec.form === 'sfp'
    ? kaimingLinear(x, 'fc', shape.classes, widths[2], seeds)
    : pytorchLinear(x, 'fc', shape.classes, widths[2], seeds);
  const model = tf.model({ inputs: input, outputs: x, name: 'resnet' });
  for (const s of shortcuts) {
    // Zero-padding shortcut: channel c of the input goes to channel c of the output, the rest are zero.
    const kernel = tf.tidy(() => tf.eye(s.from, s.to).reshape([1, 1, s.from, s.to]));
    model.getLayer(s.name).setWeights([kernel]);
    kernel.dispose();
  }
  return model;
}

function resnetProblems(spec: Record<string, unknown>): string[] {
  if (!isPositiveInt(spec.depth) || ((spec.depth as number) - 2) % 6 !== 0) {
    return [`depth: ${JSON.stringify(spec.depth)}; a CIFAR ResNet has depth 6n+2 (20, 32, 56, 110)`];
  }
  const problems: string[] = [];
  const blocks = 3 * resnetBlocksPerStage(spec.depth as number);
  if (!Array.isArray(spec.cfg) || spec.cfg.length !== blocks) {
    const got = lengthOrValue(spec.cfg);
    problems.push(`cfg: ResNet-${spec.depth} needs ${blocks} inner widths (one per block), got ${got}`);
  } else {
    problems.push(...cfgEntryProblems(spec.cfg));
  }
  if (spec.form !== undefined && spec.form !== 'sfp') {
    problems.push(`form: ${JSON.stringify(spec.form)}; use "sfp" (Soft Filter Pruning's ResNet) or leave it out`);
  }
  const widths = spec.stageWidths;
  const widthsValid = Array.isArray(widths) && widths.length === 3 && widths.every(isPositiveInt);
  if (widths !== undefined && !widthsValid) {
    problems.push(`stageWidths: ${JSON.stringify(widths)}; give three channel counts > 0, e.g. [16, 32, 64]`);
  }
  return problems;
}

/** `resnet56` (l1-norm folder), `resnet56-sfp` (Soft Filter Pruning's). */
function namedResNet(name: string, dataset: DatasetName): ResNetSpec | undefined {
  const match = /^resnet(\d+)(-sfp)?$/.exec(name);
  const depth = Number(match?.[1]);
  if (!match || (depth - 2) % 6 !== 0) return undefined;
  const spec: ResNetSpec = { arch: 'resnet', dataset, depth, cfg: defaultResNetCfg(depth) };
  return match[2] ? { ...spec, form: 'sfp' } : spec;
}

function resnetGroups(spec: ResNetSpec): ChannelGroup[] {
  // Only each block's inner channels are free: the stage channels are tied across every block of a stage
  // by the residual additions (and to the next stage by the zero-padding shortcut).
  const n = resnetBlocksPerStage(spec.depth);
  return [0, 1, 2].flatMap((stage) => Array.from({ length: n }, (_, block) => {
    const name = resnetBlockName(stage, block);
    return {
      id: `${name}.conv1`,
      size: spec.cfg[stage * n + block],
      specIndex: stage * n + block,
      members: [
        { layer: `${name}.conv1`, kind: 'conv-out' as const },
        { layer: `${name}.bn1`, kind: 'bn' as const },
        { layer: `${name}.conv2`, kind: 'conv-in' as const },
      ],
    };
  }));
}

function resnetTies(spec: ResNetSpec): TiedChannels[] {
  const n = resnetBlocksPerStage(spec.depth);
  return stageWidthsOf(spec).map((width, stage) => {
    const members: ChannelMember[] = stage === 0
      ? [{ layer: 'conv1', kind: 'conv-out' }, { layer: 'bn1', kind: 'bn' }]
      : [{ layer: `${resnetBlockName(stage, 0)}${SHORTCUT_SUFFIX}`, kind: 'conv-out' }];
    for (let block = 0; block < n; block++) {
      const name = resnetBlockName(stage, block);
      members.push({ layer: `${name}.conv2`, kind: 'conv-out' }, { layer: `${name}.bn2`, kind: 'bn' });
      if (!(stage > 0 && block === 0)) members.push({ layer: `${name}.conv1`, kind: 'conv-in' });
    }
    if (stage < 2) {
      const next = resnetBlockName(stage + 1, 0);
      members.push({ layer: `${next}.conv1`, kind: 'conv-in' });
      members.push({ layer: `${next}${SHORTCUT_SUFFIX}`, kind: 'conv-in' });
    } else {
      members.push({ layer: 'fc', kind: 'dense-in', repeat: 1 });
    }
    return { id: `stage${stage + 1}`, size: width, members };
  });
}

export const resnetFamily: ArchFamily<ResNetSpec> = {
  arch: 'resnet',
  modelNames: 'resnet20|32|56|110 (l1-norm), resnet…-sfp',
  specProblems: resnetProblems,
  namedSpec: namedResNet,
  build: buildResNet,
  channelGroups: resnetGroups,
  residualTies: resnetTies,
  withWidths: (spec, widths) => ({ ...spec, cfg: cfgWithWidths(spec.cfg, resnetGroups(spec), widths) }),
  narrowSpec: (spec, divisor) => ({
    ...spec,
    stageWidths: stageWidthsOf(spec).map((width) => narrow(width, divisor)),
    cfg: spec.cfg.map((width) => narrow(width, divisor)),
  }),
  // l1-norm: the shortcut's 2×2 pooling is an nn.AvgPool2d made and called inside a function, outside the hooks.
  // SFP: every ReLU is F.relu; its DownsampleA pooling is a module.
  functionalInSeed: (layerName, spec) =>
    (spec.form === 'sfp' ? /(^|\.)relu\d?$/.test(layerName) : layerName.endsWith('.downsample')),
};
