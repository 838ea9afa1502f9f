import * as tf from '@tensorflow/tfjs';
import { DATASET_SHAPES, type DatasetName } from '../datasets-info';
import { avgPool, batchNorm, conv, flatten, pytorchLinear, relu, SeedSequence, selectionLayer, setSelections, type Sym } from './layers';

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
   * The weight-level folder's PreResNet (bearpaw's): no channel selection layers and BN γ starting at 1;
   * `cfg` must then be the default widths.
   */
  weightLevel?: boolean;
}

export const PRERESNET_PLANES = [16, 32, 64];

export function preresnetBlocksPerStage(depth: number): number {
  return (depth - 2) / 9;
}

export function defaultPreResNetCfg(depth: number): number[] {
  const n = preresnetBlocksPerStage(depth);
  const cfg: number[] = [];
  PRERESNET_PLANES.forEach((p, s) => {
    cfg.push(s === 0 ? 16 : 2 * p, p, p);
    for (let b = 1; b < n; b++) cfg.push(4 * p, p, p);
  });
  cfg.push(256);
  return cfg;
}

/** Every selection layer: its name, the BN it reads, how many channels that BN has, and the cfg index of its width. */
export function preresnetSelections(spec: PreResNetSpec): Array<{ name: string; bn: string; channels: number; cfgIndex: number; next: string }> {
  const n = preresnetBlocksPerStage(spec.depth);
  const out: Array<{ name: string; bn: string; channels: number; cfgIndex: number; next: string }> = [];
  let inplanes = 16;
  PRERESNET_PLANES.forEach((planes, s) => {
    for (let b = 0; b < n; b++) {
      const block = `layer${s + 1}.${b}`;
      const i = s * n + b;
      out.push({ name: `${block}.select`, bn: `${block}.bn1`, channels: inplanes, cfgIndex: 3 * i, next: `${block}.conv1` });
      inplanes = 4 * planes;
    }
  });
  out.push({ name: 'select', bn: 'bn', channels: 4 * PRERESNET_PLANES[2], cfgIndex: 9 * n, next: 'fc' });
  return out;
}

function selection(x: Sym, name: string, width: number, present: boolean): Sym {
  return present ? selectionLayer(x, name, width) : x;
}

export function buildPreResNet(spec: PreResNetSpec, seed: number): tf.LayersModel {
  const shape = DATASET_SHAPES[spec.dataset];
  const seeds = new SeedSequence(seed);
  const n = preresnetBlocksPerStage(spec.depth);
  const select = !spec.weightLevel;
  const gamma = spec.weightLevel ? 1 : 0.5;
  const input = tf.input({ shape: [shape.height, shape.width, shape.channels], name: 'input' });
  let x = conv(input, 'conv1', 16, { seeds });
  let inplanes = 16;
  PRERESNET_PLANES.forEach((planes, s) => {
    for (let b = 0; b < n; b++) {
      const block = `layer${s + 1}.${b}`;
      const [c0, c1, c2] = spec.cfg.slice(3 * (s * n + b), 3 * (s * n + b) + 3);
      const stride = s > 0 && b === 0 ? 2 : 1;
      let out = relu(selection(batchNorm(x, `${block}.bn1`, gamma), `${block}.select`, c0, select), `${block}.relu1`);
      out = conv(out, `${block}.conv1`, c1, { kernel: 1, seeds });
      out = conv(relu(batchNorm(out, `${block}.bn2`, gamma), `${block}.relu2`), `${block}.conv2`, c2, { stride, seeds });
      out = conv(relu(batchNorm(out, `${block}.bn3`, gamma), `${block}.relu3`), `${block}.conv3`, 4 * planes, { kernel: 1, seeds });
      const residual = stride !== 1 || inplanes !== 4 * planes
        ? conv(x, `${block}.downsample`, 4 * planes, { kernel: 1, stride, seeds, padding: 'valid' })
        : x;
      x = tf.layers.add({ name: `${block}.add` }).apply([out, residual]) as Sym;
      inplanes = 4 * planes;
    }
  });
  x = relu(selection(batchNorm(x, 'bn', gamma), 'select', spec.cfg[spec.cfg.length - 1], select), 'relu');
  x = flatten(avgPool(x, 'avgpool', shape.height / 4), 'flatten');
  x = pytorchLinear(x, 'fc', shape.classes, spec.cfg[spec.cfg.length - 1], seeds);
  const model = tf.model({ inputs: input, outputs: x, name: 'preresnet' });
  setSelections(model, select ? preresnetSelections(spec).map((sel) => ({
    name: sel.name, channels: sel.channels, kept: spec.selections?.[sel.name] ?? Array.from({ length: sel.channels }, (_, c) => c),
  })) : []);
  return model;
}
