import { DATASET_SHAPES } from './datasets-info';
import { densenetUnits } from './models/densenet';
import { imagenetBlocks, isBottleneckDepth, planesOf } from './models/resnet-imagenet';
import { PRERESNET_PLANES, preresnetBlocksPerStage, preresnetSelections } from './models/preresnet';
import { resnetBlockName, resnetBlocksPerStage, stageWidthsOf } from './models/resnet';
import { vggBnName, vggConvName } from './models/vgg';
import type { ArchSpec } from './spec';

/**
 * The channel dependency graph of a spec: groups of tensor axes that index the same channels, so that
 * dropping channel c of a group drops it everywhere at once (a conv's filters, its BN, the next layer's
 * input slices). Structured methods produce keep-sets per group; surgery does the rest.
 */
export type MemberKind =
  | 'conv-out' // conv kernel [kh,kw,in,out] axis 3 (and bias)
  | 'conv-in' // conv kernel axis 2
  | 'bn' // γ, β, moving mean, moving variance
  | 'dense-in' // dense kernel [in,out] axis 0; the input was flattened from HWC with `repeat` positions
  | 'select-out' // a channel selection's 0/1 kernel [1,1,in,out] axis 3
  | 'dense-out'; // dense kernel axis 1 and bias

export interface ChannelMember {
  layer: string;
  kind: MemberKind;
  repeat?: number;
}

export interface ChannelGroup {
  /** Stable id: the name of the conv whose filters define the channels. */
  id: string;
  size: number;
  members: ChannelMember[];
  /** Where the width lives in the spec, so a new width is a spec edit; −1 where the spec fixes it. */
  specIndex: number;
  /**
   * For a channel selection (PreResNet): the group's channels are those of `bn`, of which `current` are
   * selected now; keep-sets name BN channels (a subset of `current`), members are indexed by position.
   */
  selection?: { layer: string; bn: string; current: number[] };
}

function vggGroups(spec: Extract<ArchSpec, { arch: 'vgg' }>): ChannelGroup[] {
  const groups: ChannelGroup[] = [];
  const convs = spec.cfg.map((v, i) => ({ v, i })).filter((e) => e.v !== 'M');
  const pools = spec.cfg.filter((v) => v === 'M').length;
  const side = DATASET_SHAPES[spec.dataset].height / 2 ** pools / 2; // after the final 2×2 average pooling
  convs.forEach(({ v, i }, k) => {
    const members: ChannelMember[] = [
      { layer: vggConvName(k), kind: 'conv-out' },
      { layer: vggBnName(k), kind: 'bn' },
      k + 1 < convs.length
        ? { layer: vggConvName(k + 1), kind: 'conv-in' }
        : { layer: spec.classifier === 'bn-mlp' ? 'classifier.0' : 'classifier', kind: 'dense-in', repeat: side * side },
    ];
    groups.push({ id: vggConvName(k), size: v as number, members, specIndex: i });
  });
  if (spec.classifier === 'bn-mlp') {
    // The hidden layer of the l1-norm head (512 wide, fixed by the seed; not in cfg, so specIndex −1).
    groups.push({ id: 'classifier.0', size: 512, specIndex: -1, members: [
      { layer: 'classifier.0', kind: 'dense-out' }, { layer: 'classifier.1', kind: 'bn' }, { layer: 'classifier.3', kind: 'dense-in', repeat: 1 },
    ] });
  }
  return groups;
}

function resnetGroups(spec: Extract<ArchSpec, { arch: 'resnet' }>): ChannelGroup[] {
  // Only each block's inner channels are free: the stage channels are tied across every block of a stage
  // by the residual additions (and to the next stage by the zero-padding shortcut).
  const n = resnetBlocksPerStage(spec.depth);
  return [0, 1, 2].flatMap((s) => Array.from({ length: n }, (_, b) => {
    const name = resnetBlockName(s, b);
    return {
      id: `${name}.conv1`,
      size: spec.cfg[s * n + b],
      specIndex: s * n + b,
      members: [
        { layer: `${name}.conv1`, kind: 'conv-out' as const },
        { layer: `${name}.bn1`, kind: 'bn' as const },
        { layer: `${name}.conv2`, kind: 'conv-in' as const },
      ],
    };
  }));
}

function preresnetGroups(spec: Extract<ArchSpec, { arch: 'preresnet' }>): ChannelGroup[] {
  const groups: ChannelGroup[] = [];
  for (const sel of spec.weightLevel ? [] : preresnetSelections(spec)) {
    const current = spec.selections?.[sel.name] ?? Array.from({ length: sel.channels }, (_, c) => c);
    groups.push({
      id: sel.name, size: sel.channels, specIndex: sel.cfgIndex, selection: { layer: sel.name, bn: sel.bn, current },
      members: [
        { layer: sel.name, kind: 'select-out' },
        sel.next === 'fc' ? { layer: 'fc', kind: 'dense-in', repeat: 1 } : { layer: sel.next, kind: 'conv-in' },
      ],
    });
  }
  const n = preresnetBlocksPerStage(spec.depth);
  for (let i = 0; i < 3 * n; i++) {
    const block = `layer${Math.floor(i / n) + 1}.${i % n}`;
    for (const [k, next] of [[1, 2], [2, 3]] as const) {
      groups.push({
        id: `${block}.conv${k}`, size: spec.cfg[3 * i + k], specIndex: 3 * i + k,
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

function densenetGroups(spec: Extract<ArchSpec, { arch: 'densenet' }>): ChannelGroup[] {
  // Concatenated channels are never removed from the conv outputs; slimming prunes what each selection reads.
  const groups: ChannelGroup[] = [];
  densenetUnits(spec).forEach((u, i) => {
    if (spec.variant === 'slimming') {
      const layer = u.name ? `${u.name}.select` : 'select';
      const current = spec.selections?.[layer] ?? Array.from({ length: u.inplanes }, (_, c) => c);
      groups.push({
        id: layer, size: u.inplanes, specIndex: i, selection: { layer, bn: u.name ? `${u.name}.bn1` : 'bn', current },
        members: [{ layer, kind: 'select-out' }, u.kind === 'final' ? { layer: 'fc', kind: 'dense-in', repeat: 1 } : { layer: `${u.name}.conv1`, kind: 'conv-in' }],
      });
    }
  });
  return groups;
}

function imagenetResnetGroups(spec: Extract<ArchSpec, { arch: 'resnet-imagenet' }>): ChannelGroup[] {
  // As for the CIFAR ResNet, only the inner channels of each block are free (stage channels are residual-tied).
  const inner = isBottleneckDepth(spec.depth) ? [[1, 2], [2, 3]] : [[1, 2]];
  return imagenetBlocks(spec.depth).flatMap((b) => inner.map(([k, next], j) => ({
    id: `${b.name}.conv${k}`, size: spec.cfg[b.cfgIndex + j], specIndex: b.cfgIndex + j,
    members: [
      { layer: `${b.name}.conv${k}`, kind: 'conv-out' as const },
      { layer: `${b.name}.bn${k}`, kind: 'bn' as const },
      { layer: `${b.name}.conv${next}`, kind: 'conv-in' as const },
    ],
  })));
}

function imagenetVggGroups(spec: Extract<ArchSpec, { arch: 'vgg-imagenet' }>): ChannelGroup[] {
  const convs = spec.cfg.map((v, i) => ({ v, i })).filter((e) => e.v !== 'M');
  const groups: ChannelGroup[] = convs.map(({ v, i }, k) => ({
    id: `features.${k}.conv`, size: v as number, specIndex: i,
    members: [
      { layer: `features.${k}.conv`, kind: 'conv-out' as const },
      ...(spec.batchNorm ? [{ layer: `features.${k}.bn`, kind: 'bn' as const }] : []),
      k + 1 < convs.length ? { layer: `features.${k + 1}.conv`, kind: 'conv-in' as const } : { layer: 'fc1', kind: 'dense-in' as const, repeat: 49 },
    ],
  }));
  spec.classifier.forEach((units, j) => groups.push({
    id: `fc${j + 1}`, size: units, specIndex: spec.cfg.length + j,
    members: [
      { layer: `fc${j + 1}`, kind: 'dense-out' },
      ...(spec.batchNorm ? [{ layer: `fc${j + 1}.bn`, kind: 'bn' as const }] : []),
      { layer: `fc${j + 2}`, kind: 'dense-in', repeat: 1 },
    ],
  }));
  return groups;
}

export function channelGroups(spec: ArchSpec): ChannelGroup[] {
  switch (spec.arch) {
    case 'vgg-imagenet': return imagenetVggGroups(spec);
    case 'resnet-imagenet': return imagenetResnetGroups(spec);
    case 'densenet': return densenetGroups(spec);
    case 'vgg': return vggGroups(spec);
    case 'resnet': return resnetGroups(spec);
    case 'preresnet': return preresnetGroups(spec);
  }
}

/** The spec with the given groups narrowed to new widths. */
export function withWidths(spec: ArchSpec, widths: Map<string, number>): ArchSpec {
  if (!spec.cfg || widths.size === 0) return spec;
  if (spec.arch === 'vgg-imagenet') {
    // specIndex past the cfg addresses the classifier widths.
    const all = [...spec.cfg, ...spec.classifier];
    for (const g of channelGroups(spec)) all[g.specIndex] = widths.get(g.id) ?? all[g.specIndex];
    return { ...spec, cfg: all.slice(0, spec.cfg.length), classifier: all.slice(spec.cfg.length) as [number, number] };
  }
  const cfg = [...spec.cfg] as Array<number | 'M'>;
  for (const g of channelGroups(spec)) {
    const w = widths.get(g.id);
    if (w !== undefined) cfg[g.specIndex] = w;
  }
  return { ...spec, cfg } as ArchSpec;
}

/**
 * Channels tied by residual additions: every layer listed reads or writes the same channel index space, so
 * none of them can lose a channel alone. They are not prunable groups (no method of the paper removes
 * them); pruneChannels refuses them by id.
 */
export interface TiedChannels {
  id: string;
  size: number;
  members: ChannelMember[];
}

export function residualTies(spec: ArchSpec): TiedChannels[] {
  switch (spec.arch) {
    case 'resnet': {
      const n = resnetBlocksPerStage(spec.depth);
      const widths = stageWidthsOf(spec);
      return widths.map((w, s) => {
        const members: ChannelMember[] = s === 0 ? [{ layer: 'conv1', kind: 'conv-out' }, { layer: 'bn1', kind: 'bn' }] : [];
        if (s > 0) members.push({ layer: `layer${s + 1}.0.shortcut`, kind: 'conv-out' });
        for (let b = 0; b < n; b++) {
          members.push({ layer: `layer${s + 1}.${b}.conv2`, kind: 'conv-out' }, { layer: `layer${s + 1}.${b}.bn2`, kind: 'bn' });
          if (!(s > 0 && b === 0)) members.push({ layer: `layer${s + 1}.${b}.conv1`, kind: 'conv-in' });
        }
        if (s < 2) members.push({ layer: `layer${s + 2}.0.conv1`, kind: 'conv-in' }, { layer: `layer${s + 2}.0.shortcut`, kind: 'conv-in' });
        else members.push({ layer: 'fc', kind: 'dense-in', repeat: 1 });
        return { id: `stage${s + 1}`, size: w, members };
      });
    }
    case 'resnet-imagenet': {
      const blocks = imagenetBlocks(spec.depth);
      const last = isBottleneckDepth(spec.depth) ? 3 : 2;
      const expansion = isBottleneckDepth(spec.depth) ? 4 : 1;
      const planes = planesOf(spec);
      const ties: TiedChannels[] = [{ id: 'stem', size: planes[0], members: [{ layer: 'conv1', kind: 'conv-out' }, { layer: 'bn1', kind: 'bn' }] }];
      for (const b of blocks) {
        if (b.index === 0 && (b.stage > 0 || expansion > 1)) {
          const prev = ties[ties.length - 1];
          prev.members.push({ layer: `${b.name}.conv1`, kind: 'conv-in' }, { layer: `${b.name}.downsample.0`, kind: 'conv-in' });
          ties.push({ id: `stage${b.stage + 1}`, size: planes[b.stage] * expansion,
            members: [{ layer: `${b.name}.downsample.0`, kind: 'conv-out' }, { layer: `${b.name}.downsample.1`, kind: 'bn' }] });
        } else {
          ties[ties.length - 1].members.push({ layer: `${b.name}.conv1`, kind: 'conv-in' });
        }
        ties[ties.length - 1].members.push({ layer: `${b.name}.conv${last}`, kind: 'conv-out' }, { layer: `${b.name}.bn${last}`, kind: 'bn' });
      }
      ties[ties.length - 1].members.push({ layer: 'fc', kind: 'dense-in', repeat: 1 });
      // With basic blocks layer1 has no shortcut conv: the stem's 64 channels are stage 1's stream.
      if (expansion === 1) ties[0].id = 'stage1';
      return ties;
    }
    case 'preresnet': {
      const n = preresnetBlocksPerStage(spec.depth);
      const ties: TiedChannels[] = [{ id: 'stem', size: 16, members: [{ layer: 'conv1', kind: 'conv-out' }] }];
      PRERESNET_PLANES.forEach((planes, s) => {
        for (let b = 0; b < n; b++) {
          const name = `layer${s + 1}.${b}`;
          const cur = ties[ties.length - 1];
          cur.members.push({ layer: `${name}.bn1`, kind: 'bn' });
          if (!spec.weightLevel) cur.members.push({ layer: `${name}.select`, kind: 'conv-in' });
          else cur.members.push({ layer: `${name}.conv1`, kind: 'conv-in' });
          if (b === 0) {
            cur.members.push({ layer: `${name}.downsample`, kind: 'conv-in' });
            ties.push({ id: `stage${s + 1}`, size: 4 * planes, members: [{ layer: `${name}.downsample`, kind: 'conv-out' }] });
          }
          ties[ties.length - 1].members.push({ layer: `${name}.conv3`, kind: 'conv-out' });
        }
      });
      ties[ties.length - 1].members.push({ layer: 'bn', kind: 'bn' }, spec.weightLevel ? { layer: 'fc', kind: 'dense-in', repeat: 1 } : { layer: 'select', kind: 'conv-in' });
      return ties;
    }
    default:
      return [];
  }
}
