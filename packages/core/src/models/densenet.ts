import * as tf from '@tensorflow/tfjs';
import { DATASET_SHAPES, type DatasetName } from '../datasets-info';
import { avgPool, batchNorm, conv, flatten, pytorchLinear, relu, SeedSequence, selectionLayer, setSelections, type Sym } from './layers';

/**
 * CIFAR DenseNet (depth 3n+4, three dense blocks and two transitions), in the two forms of the seed:
 * - `slimming` (network-slimming folder, DenseNet-40): basic blocks bn → channel selection → ReLU → conv 3×3
 *   (growth rate) → concat; transitions bn → selection → ReLU → 1×1 conv → 2×2 avg pool; BN γ starts at 0.5.
 *   `cfg` holds the selected width of every selection (3n+3 entries), `selections` the kept BN channels.
 * - `weight-level` (DenseNet-40, DenseNet-BC-100): the same without selections, γ = 1, optionally bottleneck
 *   blocks (bn → ReLU → 1×1 conv to 4·growth → bn → ReLU → 3×3 conv) and compression (compressionRate 2).
 */
export interface DenseNetSpec {
  arch: 'densenet';
  dataset: DatasetName;
  depth: number;
  variant: 'slimming' | 'weight-level';
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
  const slimming = spec.variant === 'slimming';
  const gamma = slimming ? 0.5 : 1;
  const g = densenetGrowth(spec);
  const units = densenetUnits(spec);
  const cfg = spec.cfg ?? units.map((u) => u.inplanes);
  const input = tf.input({ shape: [shape.height, shape.width, shape.channels], name: 'input' });
  let x = conv(input, 'conv1', 2 * g, { seeds });
  const selectionLayers: Array<{ name: string; channels: number; kept: number[] }> = [];
  /** bn → (selection) → ReLU, the pre-activation every unit starts with. */
  const preact = (t: Sym, prefix: string, inplanes: number, width: number): Sym => {
    let y = batchNorm(t, join(prefix, prefix ? 'bn1' : 'bn'), gamma);
    if (slimming) {
      const name = join(prefix, 'select');
      const kept = spec.selections?.[name] ?? Array.from({ length: inplanes }, (_, c) => c);
      y = selectionLayer(y, name, width);
      selectionLayers.push({ name, channels: inplanes, kept });
    }
    return relu(y, join(prefix, 'relu'));
  };
  units.forEach((u, i) => {
    const width = slimming ? cfg[i] : u.inplanes;
    if (u.kind === 'block') {
      let out = preact(x, u.name, u.inplanes, width);
      if (spec.bottleneck) {
        out = conv(out, `${u.name}.conv1`, 4 * g, { kernel: 1, seeds });
        out = conv(relu(batchNorm(out, `${u.name}.bn2`, gamma), `${u.name}.relu2`), `${u.name}.conv2`, g, { seeds });
      } else {
        out = conv(out, `${u.name}.conv1`, g, { seeds });
      }
      x = tf.layers.concatenate({ name: `${u.name}.cat`, axis: -1 }).apply([x, out]) as Sym;
    } else if (u.kind === 'transition') {
      const out = conv(preact(x, u.name, u.inplanes, width), `${u.name}.conv1`, u.out, { kernel: 1, seeds });
      x = avgPool(out, `${u.name}.pool`, 2);
    } else {
      x = preact(x, '', u.inplanes, width);
    }
  });
  x = flatten(avgPool(x, 'avgpool', shape.height / 4), 'flatten');
  const fanIn = slimming ? cfg[cfg.length - 1] : units[units.length - 1].inplanes;
  x = pytorchLinear(x, 'fc', shape.classes, fanIn, seeds);
  const model = tf.model({ inputs: input, outputs: x, name: 'densenet' });
  setSelections(model, selectionLayers);
  return model;
}
