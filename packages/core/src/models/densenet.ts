import * as tf from '@tensorflow/tfjs';
import { DATASET_SHAPES, type DatasetName } from '../datasets-info';
import { selectionLayer, setSelections } from './channel-selection';
import type { ChannelGroup } from './channels';
import {
  allChannels, cfgWithWidths, initProblems, isPositiveInt, isSelectionList, lengthOrValue, narrow,
  prunedNarrowError, type ArchFamily,
} from './family';
import {
  avgPool, batchNorm, conv, flatten, pytorchLinear, relu, SeedSequence, type Sym,
} from './layers';

/**
 * CIFAR DenseNet (depth 3n+4, three dense blocks and two transitions), in the two forms of the seed:
 * - with channel selections (the network-slimming folder's DenseNet-40, the default): basic blocks bn → channel
 *   selection → ReLU → conv 3×3 (growth rate) → concat; transitions bn → selection → ReLU → 1×1 conv → 2×2 avg pool;
 *   BN γ starts at 0.5. `cfg` holds the selected width of every selection (3n+3 entries), `selections` the kept BN
 *   channels.
 * - `channelSelection: false` (the weight-level folder's DenseNet-40 and DenseNet-BC-100, with `bnGamma: 1`): the same
 *   without selections, optionally bottleneck blocks (bn → ReLU → 1×1 conv to 4·growth → bn → ReLU → 3×3 conv) and
 *   compression (compressionRate 2).
 */
export interface DenseNetSpec {
  arch: 'densenet';
  dataset: DatasetName;
  depth: number;
  /** A channel selection after every BN (absent: true); false: none, and no `cfg` or `selections`. */
  channelSelection?: boolean;
  /** The BN scale γ starts at this; absent: 0.5 (the slimming folder's; the weight-level folder's is 1). */
  bnGamma?: number;
  /** Channels each dense layer adds; absent: 12. Narrow copies set it (the other widths follow from it). */
  growthRate?: number;
  bottleneck?: boolean;
  /** Transition output = floor(input / compressionRate); 1 (DenseNet-40) or 2 (BC). */
  compressionRate?: number;
  cfg?: number[];
  selections?: Record<string, number[]>;
}

export const densenetGrowth = (spec: DenseNetSpec) => spec.growthRate ?? 12;

export function densenetBlocksPerStage(spec: Pick<DenseNetSpec, 'depth' | 'bottleneck'>): number {
  return spec.bottleneck ? (spec.depth - 4) / 6 : (spec.depth - 4) / 3;
}

export interface DenseUnit {
  /** Layer name prefix (`dense1.3`, `trans1`) or '' for the final BN. */
  name: string;
  kind: 'block' | 'transition' | 'final';
  /** Channels entering the unit (its bn1's width). */
  inplanes: number;
  /** Output channels of its first conv (growth, 4·growth, transition width) or the class count's input. */
  out: number;
  stage: number;
}

/** Every unit in order, with its input width: the one description the builder, graph and counting share. */
export function densenetUnits(spec: DenseNetSpec): DenseUnit[] {
  const g = densenetGrowth(spec);
  const n = densenetBlocksPerStage(spec);
  const units: DenseUnit[] = [];
  let inplanes = 2 * g;
  for (let s = 0; s < 3; s++) {
    for (let b = 0; b < n; b++) {
      units.push({ name: `dense${s + 1}.${b}`, kind: 'block', inplanes, out: spec.bottleneck ? 4 * g : g, stage: s });
      inplanes += g;
    }
    if (s < 2) {
      const out = Math.floor(inplanes / (spec.compressionRate ?? 1));
      units.push({ name: `trans${s + 1}`, kind: 'transition', inplanes, out, stage: s });
      inplanes = out;
    }
  }
  units.push({ name: '', kind: 'final', inplanes, out: inplanes, stage: 2 });
  return units;
}

export function defaultDenseNetCfg(spec: Omit<DenseNetSpec, 'cfg'>): number[] {
  return densenetUnits(spec as DenseNetSpec).map((u) => u.inplanes);
}

const join = (prefix: string, name: string) => (prefix ? `${prefix}.${name}` : name);

export function buildDenseNet(spec: DenseNetSpec, seed: number): tf.LayersModel {
  const shape = DATASET_SHAPES[spec.dataset];
  const seeds = new SeedSequence(seed);
  const slimming = spec.channelSelection ?? true;
  const gamma = spec.bnGamma ?? 0.5;
  const g = densenetGrowth(spec);
  const units = densenetUnits(spec);
  const cfg = spec.cfg ?? units.map((u) => u.inplanes);
  const input = tf.input({ shape: [shape.height, shape.width, shape.channels], name: 'input' });
  let x = conv(input, 'conv1', 2 * g, { seeds });
  /** bn → (selection) → ReLU, the pre-activation every unit starts with. */
  const preact = (t: Sym, prefix: string, inplanes: number): Sym => {
    let y = batchNorm(t, join(prefix, prefix ? 'bn1' : 'bn'), gamma);
    if (slimming) {
      const name = join(prefix, 'select');
      y = selectionLayer(y, name, spec.selections?.[name] ?? allChannels(inplanes));
    }
    return relu(y, join(prefix, 'relu'));
  };
  units.forEach((u) => {
    if (u.kind === 'block') {
      let out = preact(x, u.name, u.inplanes);
      if (spec.bottleneck) {
        out = conv(out, `${u.name}.conv1`, 4 * g, { kernel: 1, seeds });
        out = conv(relu(batchNorm(out, `${u.name}.bn2`, gamma), `${u.name}.relu2`), `${u.name}.conv2`, g, { seeds });
      } else {
        out = conv(out, `${u.name}.conv1`, g, { seeds });
      }
      x = tf.layers.concatenate({ name: `${u.name}.cat`, axis: -1 }).apply([x, out]) as Sym;
    } else if (u.kind === 'transition') {
      const out = conv(preact(x, u.name, u.inplanes), `${u.name}.conv1`, u.out, { kernel: 1, seeds });
      x = avgPool(out, `${u.name}.pool`, 2);
    } else {
      x = preact(x, '', u.inplanes);
    }
  });
  x = flatten(avgPool(x, 'avgpool', shape.height / 4), 'flatten');
  const fanIn = slimming ? cfg[cfg.length - 1] : units[units.length - 1].inplanes;
  x = pytorchLinear(x, 'fc', shape.classes, fanIn, seeds);
  const model = tf.model({ inputs: input, outputs: x, name: 'densenet' });
  setSelections(model);
  return model;
}

function densenetProblems(spec: Record<string, unknown>): string[] {
  if (spec.variant !== undefined) {
    return ['variant: a field of earlier versions; the slimming form is the default, write the weight-level one as ' +
      '"channelSelection": false, "bnGamma": 1'];
  }
  if (spec.channelSelection !== undefined && typeof spec.channelSelection !== 'boolean') {
    return [`channelSelection: ${JSON.stringify(spec.channelSelection)}; use false (no selections) or omit it`];
  }
  const init = initProblems(spec, ['bnGamma']);
  if (init.length > 0) return init;
  if (spec.growthRate !== undefined && !isPositiveInt(spec.growthRate)) {
    return [`growthRate: ${JSON.stringify(spec.growthRate)} is not a positive integer`];
  }
  const compression = spec.compressionRate;
  if (compression !== undefined && !(typeof compression === 'number' && compression >= 1)) {
    return [`compressionRate: ${JSON.stringify(compression)}; use 1 or 2`];
  }
  const typed = spec as unknown as DenseNetSpec;
  const n = isPositiveInt(spec.depth) ? densenetBlocksPerStage(typed) : NaN;
  if (!Number.isInteger(n) || n < 1) {
    return [`depth: ${JSON.stringify(spec.depth)}; a DenseNet has depth 3n+4 (6n+4 with bottlenecks)`];
  }
  if (spec.channelSelection === false) {
    const selects = spec.cfg !== undefined || spec.selections !== undefined;
    return selects ? ['cfg/selections: a DenseNet without channel selections has no cfg or selections'] : [];
  }
  if (spec.bottleneck) return ['bottleneck: the DenseNet with channel selections has basic blocks only'];
  const units = densenetUnits(typed);
  if (!Array.isArray(spec.cfg) || spec.cfg.length !== units.length) {
    const got = lengthOrValue(spec.cfg);
    return [`cfg: DenseNet-${spec.depth} (slimming) needs ${units.length} selected widths, got ${got}`];
  }
  const problems: string[] = [];
  const selections = (spec.selections ?? {}) as Record<string, unknown>;
  units.forEach((unit, i) => {
    const name = selectionName(unit);
    const width = (spec.cfg as unknown[])[i];
    const kept = selections[name];
    if (!isPositiveInt(width)) {
      problems.push(`cfg[${i}]: ${JSON.stringify(width)} is not a channel count > 0`);
    } else if (kept === undefined && width !== unit.inplanes) {
      problems.push(`cfg[${i}]: ${width} of ${unit.inplanes} channels needs selections.${name}`);
    } else if (kept !== undefined && !isSelectionList(kept, width as number, unit.inplanes)) {
      const range = `0..${unit.inplanes - 1}`;
      problems.push(`selections.${name}: must list ${width} increasing channel indices in ${range}`);
    }
  });
  return problems;
}

const selectionName = (unit: DenseUnit) => join(unit.name, 'select');

/** `densenet40` (with channel selections, the network-slimming folder's). */
function namedDenseNet(name: string, dataset: DatasetName): DenseNetSpec | undefined {
  if (name !== 'densenet40') return undefined;
  const base = { arch: 'densenet' as const, dataset, depth: 40 };
  return { ...base, cfg: defaultDenseNetCfg(base) };
}

function densenetGroups(spec: DenseNetSpec): ChannelGroup[] {
  // Concatenated channels never leave the conv outputs; slimming prunes what each selection reads.
  if (spec.channelSelection === false) return [];
  return densenetUnits(spec).map((unit, i) => {
    const layer = selectionName(unit);
    const current = spec.selections?.[layer] ?? allChannels(unit.inplanes);
    return {
      id: layer, size: unit.inplanes, specIndex: i,
      selection: { layer, bn: join(unit.name, unit.name ? 'bn1' : 'bn'), current },
      members: [
        { layer, kind: 'select-out' },
        unit.kind === 'final'
          ? { layer: 'fc', kind: 'dense-in', repeat: 1 }
          : { layer: `${unit.name}.conv1`, kind: 'conv-in' },
      ],
    };
  });
}

/** The growth rate divided by `divisor`; the other widths (stem, transitions, selections) follow from it. */
function narrowDenseNet(spec: DenseNetSpec, divisor: number): DenseNetSpec {
  if (spec.selections !== undefined) {
    throw prunedNarrowError('DenseNet');
  }
  const narrowed: DenseNetSpec = { ...spec, growthRate: narrow(densenetGrowth(spec), divisor) };
  return spec.cfg === undefined ? narrowed : { ...narrowed, cfg: defaultDenseNetCfg(narrowed) };
}

export const densenetFamily: ArchFamily<DenseNetSpec> = {
  withSelection: (spec, layer, kept) => ({ ...spec, selections: { ...spec.selections, [layer]: kept } }),
  arch: 'densenet',
  modelNames: 'densenet40',
  specProblems: densenetProblems,
  namedSpec: namedDenseNet,
  build: buildDenseNet,
  channelGroups: densenetGroups,
  residualTies: () => [],
  withWidths: (spec, widths) =>
    (spec.cfg ? { ...spec, cfg: cfgWithWidths(spec.cfg, densenetGroups(spec), widths) } : spec),
  narrowSpec: narrowDenseNet,
  // The transitions' 2×2 average pooling is F.avg_pool2d in the seed.
  functionalInSeed: (layerName) => layerName.endsWith('.pool'),
};
