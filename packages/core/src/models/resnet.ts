import * as tf from '@tensorflow/tfjs';
import { DATASET_SHAPES, type DatasetName } from '../datasets-info';
import type { ChannelGroup, ChannelMember, TiedChannels } from './channels';
import {
  cfgEntryProblems, cfgWithWidths, isPositiveInt, lengthOrValue, narrow, type ArchFamily,
} from './family';
import {
  avgPool, batchNorm, conv, flatten, kaimingLinear, pytorchLinear, relu, residualAdd, SeedSequence, type Sym,
} from './layers';
import { StopGradientConv2D } from './stop-gradient';

type Kwargs = Record<string, unknown>;

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
  /** Inner width of each block, one entry per block (3n unpruned); default [16]*n + [32]*n + [64]*n. */
  cfg: number[];
  /** Output widths of the three stages; default [16, 32, 64] (narrower for the quick profile). */
  stageWidths?: number[];
  /**
   * The kernel of the average pool (stride 2) on a shortcut that halves the size: 2 (absent; the l1-norm folder's)
   * or 1, a subsampling (Soft Filter Pruning's DownsampleA, he-y/soft-filter-pruning).
   */
  shortcutPool?: 1 | 2;
  /** The zero-padding shortcut passes the gradient (SFP's); absent: it does not (the l1-norm folder builds it from x.data). */
  shortcutGradient?: boolean;
  /**
   * `conv`: a shortcut that changes shape is a trainable 1×1 conv (stride 2 where the size halves) and a BN,
   * `<block>.shortcut` and `<block>.shortcut.bn` (bearpaw's CIFAR ResNet, which the lottery-ticket folder trains as
   * "ResNet-50": depth 50, 8 basic blocks per stage). Absent: the parameter-free zero-padding shortcut.
   */
  shortcut?: 'zero-pad' | 'conv';
  /** The fc starts Kaiming-normal (SFP's); absent: PyTorch's uniform default (the l1-norm folder's). */
  fcInit?: 'uniform' | 'kaiming-normal';
  /**
   * The reference code applies its ReLUs as functions (SFP's F.relu), which the seed's FLOPs counter does not see;
   * counting only (`countSpec` with the seed's rules).
   */
  functionalReLU?: boolean;
  /**
   * Blocks per stage of a net whose blocks were removed (Sparse Structure Selection); default (depth−2)/6.
   * `depth` stays the nominal depth of the unpruned net (`resnet56` stays the base's name, and each count is
   * ≤ (depth−2)/6); `resnetLayerCount` gives the layers the pruned net really has. `cfg` has Σblocks entries.
   * Stage 1 may keep 0 blocks (its shortcuts are all identities, so the stem then feeds stage 2); stages 2
   * and 3 keep ≥ 1: their first block's shortcut changes stride and width, so it cannot become an identity.
   */
  blocks?: [number, number, number];
  /**
   * Every block multiplies its residual branch (after bn2, before the add) by a trainable scalar λ, init 1,
   * in a `BlockScale` layer `<block>.scale` (SSS's λ_b). Leaves the channel graph unchanged.
   */
  blockScales?: boolean;
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
export const BLOCK_SCALE_SUFFIX = '.scale';

/** Blocks in each of the three stages: `blocks`, or (depth−2)/6 each for the unpruned net. */
export function resnetStageBlocks(spec: Pick<ResNetSpec, 'depth' | 'blocks'>): number[] {
  const perStage = resnetBlocksPerStage(spec.depth);
  return spec.blocks ?? [perStage, perStage, perStage];
}

/** Weighted layers the net really has (stem conv, two per block, fc): its depth once blocks are removed. */
export const resnetLayerCount = (spec: Pick<ResNetSpec, 'depth' | 'blocks'>) =>
  2 + 2 * resnetStageBlocks(spec).reduce((total, count) => total + count, 0);

/** A residual block of a CIFAR ResNet or PreResNet. */
export interface ResidualBlock {
  /** `layer<stage+1>.<index>`. */
  name: string;
  stage: number;
  /** Position within its stage. */
  index: number;
  /** Where its widths start in `cfg` (a ResNet's block has one, a PreResNet's three). */
  cfgIndex: number;
}
export type ResNetBlock = ResidualBlock;

/** The blocks of stages holding `counts` blocks each, in order; each has `widthsPerBlock` entries in `cfg`. */
export function stageBlocks(counts: number[], widthsPerBlock: number): ResidualBlock[] {
  const blocks: ResidualBlock[] = [];
  counts.forEach((count, stage) => {
    for (let index = 0; index < count; index++) {
      blocks.push({ name: resnetBlockName(stage, index), stage, index, cfgIndex: widthsPerBlock * blocks.length });
    }
  });
  return blocks;
}

/** Every block in order, stage by stage. */
export const resnetBlocks = (spec: Pick<ResNetSpec, 'depth' | 'blocks'>): ResNetBlock[] =>
  stageBlocks(resnetStageBlocks(spec), 1);

/** The first block of stages 2 and 3 strides by 2 and widens, so its shortcut is no identity. */
export const shortcutChangesShape = (block: Pick<ResNetBlock, 'stage' | 'index'>) =>
  block.stage > 0 && block.index === 0;

/**
 * y = λ·x with one trainable scalar λ (weight `lambda`, shape [1], init 1): SSS's per-block scaling factor.
 * Registered for tf.loadLayersModel; no seed counterpart (the SSS code keeps λ in its own symbol).
 */
export class BlockScale extends tf.layers.Layer {
  static readonly className = 'BlockScale';
  private lambda?: tf.LayerVariable;

  override build(): void {
    this.lambda = this.addWeight('lambda', [1], 'float32', tf.initializers.ones());
    this.built = true;
  }

  override call(inputs: tf.Tensor | tf.Tensor[], _kwargs: Kwargs): tf.Tensor {
    const x = Array.isArray(inputs) ? inputs[0] : inputs;
    return tf.tidy(() => tf.mul(x, this.lambda!.read()));
  }
}
tf.serialization.registerClass(BlockScale);

export function buildResNet(spec: ResNetSpec, seed: number): tf.LayersModel {
  const shape = DATASET_SHAPES[spec.dataset];
  const seeds = new SeedSequence(seed);
  const input = tf.input({ shape: [shape.height, shape.width, shape.channels], name: 'input' });
  const widths = stageWidthsOf(spec);
  let x = relu(batchNorm(conv(input, 'conv1', widths[0], { seeds }), 'bn1'), 'relu');
  let inplanes = widths[0];
  const shortcuts: Array<{ name: string; from: number; to: number }> = [];
  for (const block of resnetBlocks(spec)) {
    const { name } = block;
    const planes = widths[block.stage];
    const stride = shortcutChangesShape(block) ? 2 : 1;
    let out = conv(x, `${name}.conv1`, spec.cfg[block.cfgIndex], { stride, seeds });
    out = relu(batchNorm(out, `${name}.bn1`), `${name}.relu1`);
    out = batchNorm(conv(out, `${name}.conv2`, planes, { seeds }), `${name}.bn2`);
    if (spec.blockScales) out = new BlockScale({ name: `${name}${BLOCK_SCALE_SUFFIX}` }).apply(out) as Sym;
    let residual = x;
    if ((stride !== 1 || inplanes !== planes) && spec.shortcut === 'conv') {
      residual = batchNorm(conv(x, `${name}${SHORTCUT_SUFFIX}`, planes, { kernel: 1, stride, seeds }),
        `${name}${SHORTCUT_SUFFIX}.bn`);
    } else if (stride !== 1 || inplanes !== planes) {
      const pooled = stride === 2 ? avgPool(x, `${name}.downsample`, spec.shortcutPool ?? 2, 2) : x;
      const padding = {
        name: `${name}${SHORTCUT_SUFFIX}`, filters: planes, kernelSize: 1, useBias: false, trainable: false,
        kernelInitializer: 'zeros' as const,
      };
      residual = (spec.shortcutGradient ? tf.layers.conv2d(padding) : new StopGradientConv2D(padding)).apply(pooled) as Sym;
      shortcuts.push({ name: `${name}${SHORTCUT_SUFFIX}`, from: inplanes, to: planes });
    }
    x = relu(residualAdd([out, residual], `${name}.add`), `${name}.relu2`);
    inplanes = planes;
  }
  x = flatten(avgPool(x, 'avgpool', shape.height / 4), 'flatten');
  x = spec.fcInit === 'kaiming-normal'
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
  const depth = spec.depth as number;
  const blockProblem = stageBlocksProblem(spec.blocks, depth);
  if (blockProblem) problems.push(blockProblem);
  const stageBlocks = spec.blocks as ResNetSpec['blocks'];
  const blocks = blockProblem ? undefined : resnetBlocks({ depth, blocks: stageBlocks });
  if (blocks && (!Array.isArray(spec.cfg) || spec.cfg.length !== blocks.length)) {
    const got = lengthOrValue(spec.cfg);
    const per = spec.blocks === undefined ? `ResNet-${depth}` : `blocks ${JSON.stringify(spec.blocks)}`;
    problems.push(`cfg: ${per} needs ${blocks.length} inner widths (one per block), got ${got}`);
  } else if (Array.isArray(spec.cfg)) {
    problems.push(...cfgEntryProblems(spec.cfg));
  }
  if (spec.form !== undefined) {
    problems.push('form: a field of earlier versions; write Soft Filter Pruning\'s ResNet as "shortcutPool": 1, ' +
      '"shortcutGradient": true, "fcInit": "kaiming-normal"');
  }
  if (spec.shortcut !== undefined && spec.shortcut !== 'zero-pad' && spec.shortcut !== 'conv') {
    problems.push(`shortcut: ${JSON.stringify(spec.shortcut)}; use "zero-pad" (the default) or "conv" (1×1 conv + BN)`);
  }
  if (spec.shortcut === 'conv' && (spec.shortcutPool !== undefined || spec.shortcutGradient !== undefined)) {
    problems.push('shortcutPool, shortcutGradient: a 1×1 conv shortcut (shortcut: "conv") has no pooling or padding; ' +
      'leave them out');
  }
  if (spec.shortcutPool !== undefined && spec.shortcutPool !== 1 && spec.shortcutPool !== 2) {
    problems.push(`shortcutPool: ${JSON.stringify(spec.shortcutPool)}; use 2 (2×2 average, the default) or 1 (subsample)`);
  }
  if (spec.shortcutGradient !== undefined && typeof spec.shortcutGradient !== 'boolean') {
    problems.push(`shortcutGradient: ${JSON.stringify(spec.shortcutGradient)}; use true or omit it`);
  }
  if (spec.functionalReLU !== undefined && typeof spec.functionalReLU !== 'boolean') {
    problems.push(`functionalReLU: ${JSON.stringify(spec.functionalReLU)}; use true or omit it`);
  }
  if (spec.fcInit !== undefined && spec.fcInit !== 'uniform' && spec.fcInit !== 'kaiming-normal') {
    problems.push(`fcInit: ${JSON.stringify(spec.fcInit)}; use "uniform" (the default) or "kaiming-normal"`);
  }
  if (spec.blockScales !== undefined && typeof spec.blockScales !== 'boolean') {
    problems.push(`blockScales: ${JSON.stringify(spec.blockScales)}; use true (a λ per block) or omit it`);
  }
  const widths = spec.stageWidths;
  const widthsValid = Array.isArray(widths) && widths.length === 3 && widths.every(isPositiveInt);
  if (widths !== undefined && !widthsValid) {
    problems.push(`stageWidths: ${JSON.stringify(widths)}; give three channel counts > 0, e.g. [16, 32, 64]`);
  }
  return problems;
}

/** Stage 1 may lose every block; stages 2 and 3 keep their first (see ResNetSpec.blocks). */
function stageBlocksProblem(blocks: unknown, depth: number): string | undefined {
  if (blocks === undefined) return undefined;
  const most = resnetBlocksPerStage(depth);
  const fits = (count: unknown, stage: number) =>
    Number.isInteger(count) && (count as number) >= (stage === 0 ? 0 : 1) && (count as number) <= most;
  if (Array.isArray(blocks) && blocks.length === 3 && blocks.every(fits)) return undefined;
  return `blocks: ${JSON.stringify(blocks)}; give three block counts, the first 0..${most} and the others ` +
    `1..${most} (ResNet-${depth} has ${most} per stage; stages 2 and 3 keep the block that changes width)`;
}

/** `resnet56` (the l1-norm folder's CIFAR ResNet). */
function namedResNet(name: string, dataset: DatasetName): ResNetSpec | undefined {
  const match = /^resnet(\d+)$/.exec(name);
  const depth = Number(match?.[1]);
  if (!match || (depth - 2) % 6 !== 0) return undefined;
  return { arch: 'resnet', dataset, depth, cfg: defaultResNetCfg(depth) };
}

function resnetGroups(spec: ResNetSpec): ChannelGroup[] {
  // Only each block's inner channels are free: the stage channels are tied across every block of a stage
  // by the residual additions (and to the next stage by the zero-padding shortcut).
  return resnetBlocks(spec).map(({ name, cfgIndex }) => ({
    id: `${name}.conv1`,
    size: spec.cfg[cfgIndex],
    specIndex: cfgIndex,
    members: [
      { layer: `${name}.conv1`, kind: 'conv-out' as const },
      { layer: `${name}.bn1`, kind: 'bn' as const },
      { layer: `${name}.conv2`, kind: 'conv-in' as const },
    ],
  }));
}

function resnetTies(spec: ResNetSpec): TiedChannels[] {
  const stageBlocks = resnetStageBlocks(spec);
  return stageWidthsOf(spec).map((width, stage) => {
    const members: ChannelMember[] = stage === 0
      ? [{ layer: 'conv1', kind: 'conv-out' }, { layer: 'bn1', kind: 'bn' }]
      : [{ layer: `${resnetBlockName(stage, 0)}${SHORTCUT_SUFFIX}`, kind: 'conv-out' },
        ...(spec.shortcut === 'conv'
          ? [{ layer: `${resnetBlockName(stage, 0)}${SHORTCUT_SUFFIX}.bn`, kind: 'bn' as const }] : [])];
    for (let block = 0; block < stageBlocks[stage]; block++) {
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
  modelNames: 'resnet20|32|56|110',
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
  // SFP: every ReLU is F.relu (functionalReLU); its DownsampleA subsampling (shortcutPool 1) is a module.
  functionalInSeed: (layerName, spec) =>
    (spec.functionalReLU === true && /(^|\.)relu\d?$/.test(layerName)) ||
    ((spec.shortcutPool ?? 2) === 2 && layerName.endsWith('.downsample')),
};
