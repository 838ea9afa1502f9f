import * as tf from '@tensorflow/tfjs';
import { DATASET_SHAPES, type DatasetName } from '../datasets-info';
import type { ChannelGroup, TiedChannels } from './channels';
import {
  allChannels, cfgEntryProblems, cfgWithWidths, initProblems, isPositiveInt, isSelectionList, lengthOrValue, narrow,
  prunedNarrowError, type ArchFamily,
} from './family';
import {
  avgPool, batchNorm, conv, flatten, pytorchLinear, relu, SeedSequence, type Sym,
} from './layers';
import { selectionLayer, setSelections } from './channel-selection';
import { BLOCK_SCALE_SUFFIX, BlockScale, stageBlocks, type ResidualBlock } from './resnet';

/**
 * Pre-activation bottleneck ResNet of the network-slimming folder (PreResNet-110/164, depth 9n+2): per block
 * bn1 → channel selection → ReLU → conv1 1×1 → bn2 → ReLU → conv2 3×3 (stride) → bn3 → ReLU → conv3 1×1 (4×planes),
 * plus a 1×1 conv shortcut where the shape changes; at the end bn → selection → ReLU → 8×8 average pool → fc.
 * The channel selection (which BN channels feed the next conv) is a fixed, non-trainable 1×1 conv with a 0/1
 * kernel, so a pruned model stays plain tfjs layers; `selections` lists the kept BN channels by layer name.
 */
export interface PreResNetSpec {
  arch: 'preresnet';
  dataset: DatasetName;
  depth: number;
  /** Three widths per block (selected input, conv1 out, conv2 out), then the final selected width: 9n+1 entries. */
  cfg: number[];
  /** Kept BN channels of each selection layer (`layer1.0.select`, `select`); absent = all. */
  selections?: Record<string, number[]>;
  /**
   * Channel selection layers after the BNs that feed a block (absent: true); false: none (the weight-level folder's
   * PreResNet, bearpaw's), and `cfg` must then be the default widths.
   */
  channelSelection?: boolean;
  /** The BN scale γ starts at this; absent: 0.5 (the slimming folder's; the weight-level folder's is 1). */
  bnGamma?: number;
  /**
   * The three stages' planes (each stage's blocks output 4× planes; the stem has the first); absent: the
   * seed's [16, 32, 64]. Narrow copies set them.
   */
  planes?: number[];
  /**
   * Blocks per stage of a net whose blocks were removed (Sparse Structure Selection); default (depth−2)/9 each,
   * `depth` staying the unpruned net's. Every stage keeps its first block, whose 1×1 conv shortcut changes width
   * (and stride after stage 1). `cfg` has 3·Σblocks + 1 entries.
   */
  blocks?: [number, number, number];
  /**
   * Every block multiplies its residual branch (conv3's output, before the add) by a trainable scalar λ, init 1,
   * in a `BlockScale` layer `<block>.scale` (SSS's λ_b). Leaves the channel graph unchanged.
   */
  blockScales?: boolean;
}

export const PRERESNET_PLANES = [16, 32, 64];

export const preresnetPlanesOf = (spec: Pick<PreResNetSpec, 'planes'>) => spec.planes ?? PRERESNET_PLANES;

export function preresnetBlocksPerStage(depth: number): number {
  return (depth - 2) / 9;
}

/** Blocks in each of the three stages: `blocks`, or (depth−2)/9 each for the unpruned net. */
export function preresnetStageBlocks(spec: Pick<PreResNetSpec, 'depth' | 'blocks'>): number[] {
  const perStage = preresnetBlocksPerStage(spec.depth);
  return spec.blocks ?? [perStage, perStage, perStage];
}

/** Every block in order, stage by stage; its three widths start at cfg[cfgIndex]. */
export const preresnetBlocks = (spec: Pick<PreResNetSpec, 'depth' | 'blocks'>): ResidualBlock[] =>
  stageBlocks(preresnetStageBlocks(spec), 3);

/** The unpruned cfg: per block (input width, planes, planes), the input being the stem or 4× earlier planes. */
export function defaultPreResNetCfg(depth: number, planes = PRERESNET_PLANES): number[] {
  const n = preresnetBlocksPerStage(depth);
  const cfg: number[] = [];
  let inplanes = planes[0];
  planes.forEach((stagePlanes) => {
    for (let b = 0; b < n; b++) {
      cfg.push(inplanes, stagePlanes, stagePlanes);
      inplanes = 4 * stagePlanes;
    }
  });
  cfg.push(inplanes);
  return cfg;
}

export interface PreResNetSelection {
  name: string;
  /** The BN it reads and that BN's channel count. */
  bn: string;
  channels: number;
  /** Where its selected width lives in cfg. */
  cfgIndex: number;
  /** The layer reading the selected channels. */
  next: string;
}

/** Every selection layer: its name, the BN it reads, how many channels that BN has, and the cfg index of its width. */
export function preresnetSelections(spec: PreResNetSpec): PreResNetSelection[] {
  const planes = preresnetPlanesOf(spec);
  const out: PreResNetSelection[] = [];
  let inplanes = planes[0];
  for (const { name, stage, cfgIndex } of preresnetBlocks(spec)) {
    out.push({ name: `${name}.select`, bn: `${name}.bn1`, channels: inplanes, cfgIndex, next: `${name}.conv1` });
    inplanes = 4 * planes[stage];
  }
  out.push({ name: 'select', bn: 'bn', channels: inplanes, cfgIndex: spec.cfg.length - 1, next: 'fc' });
  return out;
}

export function buildPreResNet(spec: PreResNetSpec, seed: number): tf.LayersModel {
  const shape = DATASET_SHAPES[spec.dataset];
  const seeds = new SeedSequence(seed);
  const select = spec.channelSelection ?? true;
  const gamma = spec.bnGamma ?? 0.5;
  const input = tf.input({ shape: [shape.height, shape.width, shape.channels], name: 'input' });
  const stagePlanes = preresnetPlanesOf(spec);
  const selection = (t: Sym, name: string, channels: number): Sym =>
    (select ? selectionLayer(t, name, spec.selections?.[name] ?? allChannels(channels)) : t);
  let x = conv(input, 'conv1', stagePlanes[0], { seeds });
  let inplanes = stagePlanes[0];
  for (const { name: block, stage, index, cfgIndex } of preresnetBlocks(spec)) {
    const planes = stagePlanes[stage];
    const [, c1, c2] = spec.cfg.slice(cfgIndex, cfgIndex + 3);
    const stride = stage > 0 && index === 0 ? 2 : 1;
    let out = relu(selection(batchNorm(x, `${block}.bn1`, gamma), `${block}.select`, inplanes), `${block}.relu1`);
    out = conv(out, `${block}.conv1`, c1, { kernel: 1, seeds });
    out = conv(relu(batchNorm(out, `${block}.bn2`, gamma), `${block}.relu2`), `${block}.conv2`, c2, { stride, seeds });
    out = conv(relu(batchNorm(out, `${block}.bn3`, gamma), `${block}.relu3`), `${block}.conv3`, 4 * planes, { kernel: 1, seeds });
    if (spec.blockScales) out = new BlockScale({ name: `${block}${BLOCK_SCALE_SUFFIX}` }).apply(out) as Sym;
    const residual = stride !== 1 || inplanes !== 4 * planes
      ? conv(x, `${block}.downsample`, 4 * planes, { kernel: 1, stride, seeds, padding: 'valid' })
      : x;
    x = tf.layers.add({ name: `${block}.add` }).apply([out, residual]) as Sym;
    inplanes = 4 * planes;
  }
  x = relu(selection(batchNorm(x, 'bn', gamma), 'select', inplanes), 'relu');
  x = flatten(avgPool(x, 'avgpool', shape.height / 4), 'flatten');
  x = pytorchLinear(x, 'fc', shape.classes, spec.cfg[spec.cfg.length - 1], seeds);
  const model = tf.model({ inputs: input, outputs: x, name: 'preresnet' });
  setSelections(model);
  return model;
}

function preresnetProblems(spec: Record<string, unknown>): string[] {
  if (!isPositiveInt(spec.depth) || ((spec.depth as number) - 2) % 9 !== 0) {
    return [`depth: ${JSON.stringify(spec.depth)}; a PreResNet has depth 9n+2 (110, 164)`];
  }
  const planes = spec.planes;
  const planesValid = Array.isArray(planes) && planes.length === 3 && planes.every(isPositiveInt);
  if (planes !== undefined && !planesValid) {
    return [`planes: ${JSON.stringify(planes)}; give the three stages' planes, e.g. [16, 32, 64]`];
  }
  const most = preresnetBlocksPerStage(spec.depth as number);
  const blocks = spec.blocks;
  if (blocks !== undefined && !(Array.isArray(blocks) && blocks.length === 3
    && blocks.every((count) => Number.isInteger(count) && count >= 1 && count <= most))) {
    return [`blocks: ${JSON.stringify(blocks)}; give three block counts in 1..${most} (PreResNet-${spec.depth} has ` +
      `${most} per stage; each stage keeps its first block, whose shortcut changes width)`];
  }
  if (spec.blockScales !== undefined && typeof spec.blockScales !== 'boolean') {
    return [`blockScales: ${JSON.stringify(spec.blockScales)}; use true (a λ per block) or omit it`];
  }
  const want = 3 * preresnetBlocks(spec as unknown as PreResNetSpec).length + 1;
  if (!Array.isArray(spec.cfg) || spec.cfg.length !== want) {
    const got = lengthOrValue(spec.cfg);
    const per = blocks === undefined ? `PreResNet-${spec.depth}` : `blocks ${JSON.stringify(blocks)}`;
    return [`cfg: ${per} needs ${want} widths (3 per block and the final one), got ${got}`];
  }
  const problems = cfgEntryProblems(spec.cfg);
  const typed = spec as unknown as PreResNetSpec;
  if (spec.weightLevel !== undefined) {
    problems.push('weightLevel: a field of earlier versions; write the weight-level folder\'s PreResNet as ' +
      '"channelSelection": false, "bnGamma": 1');
  }
  if (spec.channelSelection !== undefined && typeof spec.channelSelection !== 'boolean') {
    problems.push(`channelSelection: ${JSON.stringify(spec.channelSelection)}; use false (no selections) or omit it`);
  }
  problems.push(...initProblems(spec, ['bnGamma']));
  if (spec.channelSelection === false) {
    const defaults = defaultPreResNetCfg(typed.depth, preresnetPlanesOf(typed));
    if (typed.blocks !== undefined) problems.push('blocks: a PreResNet without channel selections keeps every block');
    if (spec.selections !== undefined || typed.cfg.some((width, i) => width !== defaults[i])) {
      problems.push('channelSelection: a PreResNet without channel selections keeps the default cfg and has no ' +
        'selections');
    }
    return problems;
  }
  const selections = (spec.selections ?? {}) as Record<string, unknown>;
  const known = preresnetSelections(typed);
  for (const name of Object.keys(selections)) {
    if (!known.some((sel) => sel.name === name)) problems.push(`selections.${name}: no such selection layer`);
  }
  for (const sel of known) {
    const width = typed.cfg[sel.cfgIndex];
    const kept = selections[sel.name];
    if (kept === undefined) {
      if (width !== sel.channels) {
        const from = `${sel.bn} (${sel.channels})`;
        problems.push(`cfg[${sel.cfgIndex}]: ${width} channels selected from ${from} needs ` +
          `selections.${sel.name}`);
      }
    } else if (!Array.isArray(kept) || kept.length !== width) {
      problems.push(`selections.${sel.name}: must list cfg[${sel.cfgIndex}] = ${width} channel indices`);
    } else if (!isSelectionList(kept, width, sel.channels)) {
      problems.push(`selections.${sel.name}: indices must be increasing integers in 0..${sel.channels - 1}`);
    }
  }
  return problems;
}

/** `preresnet164` (with channel selections, the slimming folder's). */
function namedPreResNet(name: string, dataset: DatasetName): PreResNetSpec | undefined {
  const match = /^preresnet(\d+)$/.exec(name);
  const depth = Number(match?.[1]);
  if (!match || (depth - 2) % 9 !== 0) return undefined;
  return { arch: 'preresnet', dataset, depth, cfg: defaultPreResNetCfg(depth) };
}

function preresnetGroups(spec: PreResNetSpec): ChannelGroup[] {
  const groups: ChannelGroup[] = [];
  for (const sel of spec.channelSelection === false ? [] : preresnetSelections(spec)) {
    const current = spec.selections?.[sel.name] ?? allChannels(sel.channels);
    groups.push({
      id: sel.name, size: sel.channels, specIndex: sel.cfgIndex,
      selection: { layer: sel.name, bn: sel.bn, current },
      members: [
        { layer: sel.name, kind: 'select-out' },
        sel.next === 'fc'
          ? { layer: 'fc', kind: 'dense-in', repeat: 1 }
          : { layer: sel.next, kind: 'conv-in' },
      ],
    });
  }
  for (const { name: block, cfgIndex } of preresnetBlocks(spec)) {
    for (const [k, next] of [[1, 2], [2, 3]] as const) {
      groups.push({
        id: `${block}.conv${k}`, size: spec.cfg[cfgIndex + k], specIndex: cfgIndex + k,
        members: [
          { layer: `${block}.conv${k}`, kind: 'conv-out' },
          { layer: `${block}.bn${k + 1}`, kind: 'bn' },
          { layer: `${block}.conv${next}`, kind: 'conv-in' },
        ],
      });
    }
  }
  return groups;
}

function preresnetTies(spec: PreResNetSpec): TiedChannels[] {
  const planes = preresnetPlanesOf(spec);
  const ties: TiedChannels[] = [
    { id: 'stem', size: planes[0], members: [{ layer: 'conv1', kind: 'conv-out' }] },
  ];
  for (const { name, stage, index } of preresnetBlocks(spec)) {
    const current = ties[ties.length - 1];
    current.members.push({ layer: `${name}.bn1`, kind: 'bn' });
    current.members.push({ layer: spec.channelSelection === false ? `${name}.conv1` : `${name}.select`, kind: 'conv-in' });
    if (index === 0) {
      current.members.push({ layer: `${name}.downsample`, kind: 'conv-in' });
      const shortcut = { layer: `${name}.downsample`, kind: 'conv-out' as const };
      ties.push({ id: `stage${stage + 1}`, size: 4 * planes[stage], members: [shortcut] });
    }
    ties[ties.length - 1].members.push({ layer: `${name}.conv3`, kind: 'conv-out' });
  }
  ties[ties.length - 1].members.push({ layer: 'bn', kind: 'bn' },
    spec.channelSelection === false ? { layer: 'fc', kind: 'dense-in', repeat: 1 } : { layer: 'select', kind: 'conv-in' });
  return ties;
}

/**
 * Planes divided by `divisor`; conv widths too, and every selection keeps all its (now fewer) channels, so
 * the narrow copy of an unpruned spec is the unpruned spec of the narrow planes.
 */
function narrowPreResNet(spec: PreResNetSpec, divisor: number): PreResNetSpec {
  if (spec.selections !== undefined) {
    throw prunedNarrowError('PreResNet');
  }
  const narrowed: PreResNetSpec = { ...spec, planes: preresnetPlanesOf(spec).map((p) => narrow(p, divisor)) };
  const cfg = spec.cfg.map((width) => narrow(width, divisor));
  for (const sel of preresnetSelections(narrowed)) cfg[sel.cfgIndex] = sel.channels;
  return { ...narrowed, cfg };
}

export const preresnetFamily: ArchFamily<PreResNetSpec> = {
  withSelection: (spec, layer, kept) => ({ ...spec, selections: { ...spec.selections, [layer]: kept } }),
  arch: 'preresnet',
  modelNames: 'preresnet110|164',
  specProblems: preresnetProblems,
  namedSpec: namedPreResNet,
  build: buildPreResNet,
  channelGroups: preresnetGroups,
  residualTies: preresnetTies,
  withWidths: (spec, widths) => ({ ...spec, cfg: cfgWithWidths(spec.cfg, preresnetGroups(spec), widths) }),
  narrowSpec: narrowPreResNet,
  functionalInSeed: () => false,
};
