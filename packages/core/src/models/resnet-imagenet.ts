import * as tf from '@tensorflow/tfjs';
import { DATASET_SHAPES, isDatasetName, type DatasetName } from '../datasets-info';
import { selectionLayer, setSelections } from './channel-selection';
import type { ChannelGroup, TiedChannels } from './channels';
import {
  allChannels, cfgEntryProblems, cfgWithWidths, isPositiveInt, isSelectionList, lengthOrValue, narrow, type ArchFamily,
} from './family';
import {
  avgPool, batchNorm, conv, flatten, maxPool, pytorchLinear, relu, residualAdd, SeedSequence,
  type Sym,
} from './layers';

/**
 * ImageNet ResNet-18/34 (basic blocks) and ResNet-50/101 (bottlenecks), torchvision's layout as the seed's
 * imagenet folders use it: 7×7/2 stem, 3×3/2 max pool, four stages (64, 128, 256, 512 planes), 1×1 conv + BN
 * shortcut where the shape changes, 7×7 average pool, fc. `cfg` holds the inner widths of every block (one
 * per basic block: conv1's filters; two per bottleneck: conv1's and conv2's), so pruned variants are specs.
 */
export interface ImageNetResNetSpec {
  arch: 'resnet-imagenet';
  dataset: DatasetName;
  depth: 18 | 34 | 50 | 101;
  cfg: number[];
  /** Stage widths (the stem has the first); absent: torchvision's 64, 128, 256, 512. Narrow copies set them. */
  planes?: number[];
  /** The shortcut's 1×1 conv has a bias (the seed's imagenet folders' ResNet-50, unlike torchvision's); absent: none. */
  shortcutBias?: boolean;
  /**
   * Per bottleneck block (`layer1.0` …), the block-input channels its conv1 reads (a fixed channel selection before
   * it; the shortcut reads them all): Channel Pruning's ResNet-50-2x. Absent: every channel.
   */
  inputSelections?: Record<string, number[]>;
}

export const IMAGENET_RESNET_LAYERS: Record<ImageNetResNetSpec['depth'], number[]> = {
  18: [2, 2, 2, 2], 34: [3, 4, 6, 3], 50: [3, 4, 6, 3], 101: [3, 4, 23, 3],
};
export const IMAGENET_PLANES = [64, 128, 256, 512];
export const isBottleneckDepth = (depth: number) => depth >= 50;
export const planesOf = (spec: Pick<ImageNetResNetSpec, 'planes'>) => spec.planes ?? IMAGENET_PLANES;

export function defaultImageNetResNetCfg(depth: ImageNetResNetSpec['depth']): number[] {
  const per = isBottleneckDepth(depth) ? 2 : 1;
  return IMAGENET_RESNET_LAYERS[depth].flatMap((blocks, s) => new Array(blocks * per).fill(IMAGENET_PLANES[s]));
}

/** Blocks in order with their stage, index, the position of their widths in cfg and their input width. */
export function imagenetBlocks(depth: ImageNetResNetSpec['depth'], planes = IMAGENET_PLANES):
  Array<{ name: string; stage: number; index: number; cfgIndex: number; inputs: number }> {
  const per = isBottleneckDepth(depth) ? 2 : 1;
  const expansion = isBottleneckDepth(depth) ? 4 : 1;
  let k = 0;
  return IMAGENET_RESNET_LAYERS[depth].flatMap((blocks, s) => Array.from({ length: blocks }, (_, b) => ({
    name: `layer${s + 1}.${b}`, stage: s, index: b, cfgIndex: per * k++,
    inputs: b > 0 ? planes[s] * expansion : s === 0 ? planes[0] : planes[s - 1] * expansion,
  })));
}

/** The selection layer before a block's conv1 (counted as the seed's channel_selection: one parameter per input). */
const selectionName = (block: string) => `${block}.select`;

export function buildImageNetResNet(spec: ImageNetResNetSpec, seed: number): tf.LayersModel {
  const shape = DATASET_SHAPES[spec.dataset];
  const seeds = new SeedSequence(seed);
  const bottleneck = isBottleneckDepth(spec.depth);
  const expansion = bottleneck ? 4 : 1;
  const input = tf.input({ shape: [shape.height, shape.width, shape.channels], name: 'input' });
  const stagePlanes = planesOf(spec);
  let x = relu(batchNorm(conv(input, 'conv1', stagePlanes[0], { kernel: 7, stride: 2, seeds }), 'bn1'), 'relu');
  x = tf.layers.zeroPadding2d({ name: 'maxpool.pad', padding: 1 }).apply(x) as Sym;
  x = maxPool(x, 'maxpool', 3, 2);
  let inplanes = stagePlanes[0];
  for (const blk of imagenetBlocks(spec.depth)) {
    const planes = stagePlanes[blk.stage];
    const stride = blk.stage > 0 && blk.index === 0 ? 2 : 1;
    const n = blk.name;
    let out: Sym;
    if (bottleneck) {
      const [w1, w2] = spec.cfg.slice(blk.cfgIndex, blk.cfgIndex + 2);
      const kept = spec.inputSelections?.[n];
      const branch = kept ? selectionLayer(x, selectionName(n), kept) : x;
      out = relu(batchNorm(conv(branch, `${n}.conv1`, w1, { kernel: 1, seeds }), `${n}.bn1`), `${n}.relu1`);
      out = relu(batchNorm(conv(out, `${n}.conv2`, w2, { stride, seeds }), `${n}.bn2`), `${n}.relu2`);
      out = batchNorm(conv(out, `${n}.conv3`, planes * 4, { kernel: 1, seeds }), `${n}.bn3`);
    } else {
      out = relu(batchNorm(conv(x, `${n}.conv1`, spec.cfg[blk.cfgIndex], { stride, seeds }), `${n}.bn1`), `${n}.relu1`);
      out = batchNorm(conv(out, `${n}.conv2`, planes, { seeds }), `${n}.bn2`);
    }
    let residual = x;
    if (stride !== 1 || inplanes !== planes * expansion) {
      residual = batchNorm(conv(x, `${n}.downsample.0`, planes * expansion,
        { kernel: 1, stride, seeds, padding: 'valid', bias: spec.shortcutBias ?? false }), `${n}.downsample.1`);
    }
    x = relu(residualAdd([out, residual], `${n}.add`), `${n}.relu`);
    inplanes = planes * expansion;
  }
  x = flatten(avgPool(x, 'avgpool', shape.height / 32, 1), 'flatten');
  x = pytorchLinear(x, 'fc', shape.classes, inplanes, seeds);
  const model = tf.model({ inputs: input, outputs: x, name: `resnet${spec.depth}` });
  setSelections(model);
  return model;
}

function imagenetResNetProblems(spec: Record<string, unknown>): string[] {
  const problems: string[] = [];
  const layers = IMAGENET_RESNET_LAYERS[spec.depth as ImageNetResNetSpec['depth']];
  if (!layers) {
    problems.push(`depth: ${JSON.stringify(spec.depth)}; an ImageNet ResNet has depth 18, 34, 50 or 101`);
  } else {
    const want = layers.reduce((a, b) => a + b, 0) * (isBottleneckDepth(spec.depth as number) ? 2 : 1);
    if (!Array.isArray(spec.cfg) || spec.cfg.length !== want) {
      problems.push(`cfg: ResNet-${spec.depth} needs ${want} inner widths, got ${lengthOrValue(spec.cfg)}`);
    } else {
      problems.push(...cfgEntryProblems(spec.cfg));
    }
  }
  const planes = spec.planes;
  const planesValid = Array.isArray(planes) && planes.length === 4 && planes.every(isPositiveInt);
  if (planes !== undefined && !planesValid) {
    problems.push(`planes: ${JSON.stringify(planes)}; give the four stage widths, e.g. [64, 128, 256, 512]`);
  }
  if (isDatasetName(spec.dataset) && DATASET_SHAPES[spec.dataset].height !== 224) {
    problems.push(`dataset: ${spec.dataset}; ImageNet ResNets take 224×224 input`);
  }
  if (spec.shortcutBias !== undefined && typeof spec.shortcutBias !== 'boolean') {
    problems.push(`shortcutBias: ${JSON.stringify(spec.shortcutBias)}; use true (a shortcut conv with a bias) or omit it`);
  }
  problems.push(...selectionProblems(spec));
  return problems;
}

function selectionProblems(spec: Record<string, unknown>): string[] {
  const selections = spec.inputSelections;
  if (selections === undefined) return [];
  if (typeof selections !== 'object' || selections === null || Array.isArray(selections)) {
    return ['inputSelections: an object of kept input channels by block name ({ "layer1.0": [0, 3, …] })'];
  }
  if (!isBottleneckDepth(spec.depth as number) || !IMAGENET_RESNET_LAYERS[spec.depth as ImageNetResNetSpec['depth']]) {
    return ['inputSelections: only the bottleneck ResNets (depth 50, 101) select their blocks\' inputs'];
  }
  const planes = Array.isArray(spec.planes) ? spec.planes as number[] : IMAGENET_PLANES;
  const blocks = new Map(imagenetBlocks(spec.depth as ImageNetResNetSpec['depth'], planes).map((b) => [b.name, b]));
  return Object.entries(selections as Record<string, unknown>).flatMap(([name, kept]) => {
    const block = blocks.get(name);
    if (!block) return [`inputSelections.${name}: no such block (layer1.0 … layer4.2)`];
    const count = Array.isArray(kept) ? kept.length : 0;
    return count > 0 && isSelectionList(kept, count, block.inputs) ? []
      : [`inputSelections.${name}: give increasing channel indices in 0..${block.inputs - 1}, at least one`];
  });
}

/** `resnet18-imagenet` … `resnet101-imagenet` (always on the imagenet dataset). */
function namedImageNetResNet(name: string): ImageNetResNetSpec | undefined {
  const match = /^resnet(18|34|50|101)-imagenet$/.exec(name);
  if (!match) return undefined;
  const depth = Number(match[1]) as ImageNetResNetSpec['depth'];
  return { arch: 'resnet-imagenet', dataset: 'imagenet', depth, cfg: defaultImageNetResNetCfg(depth) };
}

function imagenetResNetGroups(spec: ImageNetResNetSpec): ChannelGroup[] {
  // As for the CIFAR ResNet, only each block's inner channels are free (stage channels are residual-tied).
  const inner = isBottleneckDepth(spec.depth) ? [[1, 2], [2, 3]] : [[1, 2]];
  return imagenetBlocks(spec.depth).flatMap((block) => inner.map(([k, next], j) => ({
    id: `${block.name}.conv${k}`, size: spec.cfg[block.cfgIndex + j], specIndex: block.cfgIndex + j,
    members: [
      { layer: `${block.name}.conv${k}`, kind: 'conv-out' as const },
      { layer: `${block.name}.bn${k}`, kind: 'bn' as const },
      { layer: `${block.name}.conv${next}`, kind: 'conv-in' as const },
    ],
  })));
}

function imagenetResNetTies(spec: ImageNetResNetSpec): TiedChannels[] {
  const last = isBottleneckDepth(spec.depth) ? 3 : 2;
  const expansion = isBottleneckDepth(spec.depth) ? 4 : 1;
  const planes = planesOf(spec);
  const stem: TiedChannels = {
    id: 'stem', size: planes[0],
    members: [{ layer: 'conv1', kind: 'conv-out' }, { layer: 'bn1', kind: 'bn' }],
  };
  const ties = [stem];
  const stream = () => ties[ties.length - 1].members;
  for (const block of imagenetBlocks(spec.depth)) {
    const name = block.name;
    // A block with an input selection reads the stream through it (its 0/1 kernel's input rows).
    const reader = spec.inputSelections?.[name] ? selectionName(name) : `${name}.conv1`;
    if (block.index === 0 && (block.stage > 0 || expansion > 1)) {
      stream().push({ layer: reader, kind: 'conv-in' });
      stream().push({ layer: `${name}.downsample.0`, kind: 'conv-in' });
      ties.push({ id: `stage${block.stage + 1}`, size: planes[block.stage] * expansion, members: [
        { layer: `${name}.downsample.0`, kind: 'conv-out' }, { layer: `${name}.downsample.1`, kind: 'bn' },
      ] });
    } else {
      stream().push({ layer: reader, kind: 'conv-in' });
    }
    stream().push({ layer: `${name}.conv${last}`, kind: 'conv-out' });
    stream().push({ layer: `${name}.bn${last}`, kind: 'bn' });
  }
  stream().push({ layer: 'fc', kind: 'dense-in', repeat: 1 });
  // With basic blocks layer1 has no shortcut conv: the stem's 64 channels are stage 1's stream.
  if (expansion === 1) stem.id = 'stage1';
  return ties;
}

export const imagenetResNetFamily: ArchFamily<ImageNetResNetSpec> = {
  arch: 'resnet-imagenet',
  modelNames: 'resnet18|34|50|101-imagenet',
  specProblems: imagenetResNetProblems,
  namedSpec: namedImageNetResNet,
  build: buildImageNetResNet,
  channelGroups: imagenetResNetGroups,
  residualTies: imagenetResNetTies,
  withWidths: (spec, widths) =>
    ({ ...spec, cfg: cfgWithWidths(spec.cfg, imagenetResNetGroups(spec), widths) }),
  narrowSpec: (spec, divisor) => ({
    ...spec,
    planes: planesOf(spec).map((width) => narrow(width, divisor)),
    cfg: spec.cfg.map((width) => narrow(width, divisor)),
    // A narrow copy (quick and smoke runs) reads the first k/divisor channels of each block's input.
    ...(spec.inputSelections ? { inputSelections: Object.fromEntries(Object.entries(spec.inputSelections)
      .map(([block, kept]) => [block, allChannels(narrow(kept.length, divisor))])) } : {}),
  }),
  functionalInSeed: () => false,
};
