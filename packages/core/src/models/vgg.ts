import * as tf from '@tensorflow/tfjs';
import { DATASET_SHAPES, isDatasetName, type DatasetName } from '../datasets-info';
import type { ChannelGroup, ChannelMember } from './channels';
import { cfgEntryProblems, cfgWithWidths, initProblems, narrowedWidths, type ArchFamily } from './family';
import { avgPool, batchNorm, conv, flatten, linear, maxPool, relu, SeedSequence, type Sym } from './layers';

/** CIFAR VGG, as the seed repository defines it: 3×3 conv–BN–ReLU blocks and 2×2 max pools from a cfg list. */
export type VggCfg = Array<number | 'M'>;

export interface VggSpec {
  arch: 'vgg';
  dataset: DatasetName;
  /** Channel counts and 'M' (max pool); the paper's VGG-16 has 13 convs and 4 pools. */
  cfg: VggCfg;
  /**
   * `linear` (network-slimming folder): one Linear(cfg[-1], classes).
   * `bn-mlp` (l1-norm folder): Linear(cfg[-1], 512) → BatchNorm1d → ReLU → Linear(512, classes).
   */
  classifier: 'linear' | 'bn-mlp';
  /** Convs with a bias (the weight-level folder's VGG, bearpaw's); absent: none (the l1-norm and slimming folders'). */
  convBias?: boolean;
  /** The BN scale γ starts at this; absent: 0.5 (the l1-norm and slimming folders'; the weight-level folder's is 1). */
  bnGamma?: number;
  /** Conv weights N(0, √(2/n)) with n = k²·C_out (`fan-out`, absent) or k²·C_in (`fan-in`, the weight-level folder's). */
  convInit?: 'fan-out' | 'fan-in';
}

export const VGG_CFGS: Record<11 | 13 | 16 | 19, VggCfg> = {
  11: [64, 'M', 128, 'M', 256, 256, 'M', 512, 512, 'M', 512, 512],
  13: [64, 64, 'M', 128, 128, 'M', 256, 256, 'M', 512, 512, 'M', 512, 512],
  16: [64, 64, 'M', 128, 128, 'M', 256, 256, 256, 'M', 512, 512, 512, 'M', 512, 512, 512],
  19: [64, 64, 'M', 128, 128, 'M', 256, 256, 256, 256, 'M', 512, 512, 512, 512, 'M', 512, 512, 512, 512],
};

/** Layer names: conv i (0-based, pools not counted) is `features.i.conv`, its BN `features.i.bn`. */
export const vggConvName = (i: number) => `features.${i}.conv`;
export const vggBnName = (i: number) => `features.${i}.bn`;

/**
 * The convolutional part every VGG shares: 3×3 conv (optional bias) → BN (γ0, or none) → ReLU per channel
 * count, 2×2 max pool per 'M'. Seeds are drawn in layer order.
 */
export function vggFeatures(x: Sym, cfg: VggCfg, seeds: SeedSequence,
  opts: { bias: boolean; gamma: number | null; fanIn?: boolean }): Sym {
  let convIndex = 0;
  let poolIndex = 0;
  for (const v of cfg) {
    if (v === 'M') {
      x = maxPool(x, `features.pool${poolIndex++}`);
      continue;
    }
    x = conv(x, vggConvName(convIndex), v, { seeds, bias: opts.bias, fanIn: opts.fanIn });
    if (opts.gamma !== null) x = batchNorm(x, vggBnName(convIndex), opts.gamma);
    x = relu(x, `features.${convIndex}.relu`);
    convIndex++;
  }
  return x;
}

export function buildVgg(spec: VggSpec, seed: number): tf.LayersModel {
  const shape = DATASET_SHAPES[spec.dataset];
  const seeds = new SeedSequence(seed);
  const input = tf.input({ shape: [shape.height, shape.width, shape.channels], name: 'input' });
  let x = vggFeatures(input, spec.cfg, seeds,
    { bias: spec.convBias ?? false, gamma: spec.bnGamma ?? 0.5, fanIn: spec.convInit === 'fan-in' });
  x = flatten(avgPool(x, 'avgpool', 2), 'flatten');
  if (spec.classifier === 'bn-mlp') {
    x = linear(x, 'classifier.0', 512, seeds);
    x = relu(batchNorm(x, 'classifier.1'), 'classifier.2'); // BatchNorm1d keeps PyTorch's γ=1
    x = linear(x, 'classifier.3', shape.classes, seeds);
  } else {
    x = linear(x, 'classifier', shape.classes, seeds);
  }
  return tf.model({ inputs: input, outputs: x, name: 'vgg' });
}

function vggProblems(spec: Record<string, unknown>): string[] {
  const problems: string[] = [];
  if (!Array.isArray(spec.cfg) || spec.cfg.length === 0) {
    problems.push('cfg: must be a non-empty list of channel counts and "M"');
  } else {
    problems.push(...cfgEntryProblems(spec.cfg, true));
    const pools = spec.cfg.filter((v) => v === 'M').length;
    const height = isDatasetName(spec.dataset) ? DATASET_SHAPES[spec.dataset].height : NaN;
    if (height / 2 ** pools < 2) {
      problems.push(`cfg: ${pools} max pools shrink a ${height}px input below 2×2 before the final 2×2 ` +
        'pooling');
    }
  }
  if (spec.classifier !== 'linear' && spec.classifier !== 'bn-mlp') {
    const classifier = JSON.stringify(spec.classifier);
    problems.push(`classifier: ${classifier}; use "linear" (network-slimming VGG) or "bn-mlp" (l1-norm VGG)`);
  }
  if (spec.weightLevel !== undefined) {
    problems.push('weightLevel: a field of earlier versions; write the weight-level folder\'s VGG as ' +
      '"convBias": true, "bnGamma": 1, "convInit": "fan-in"');
  }
  return [...problems, ...initProblems(spec)];
}


/** `vgg16` (the l1-norm folder's BN-MLP head), `vgg19-linear` (one linear layer, as the slimming folder's). */
function namedVgg(name: string, dataset: DatasetName): VggSpec | undefined {
  const match = /^vgg(11|13|16|19)(-linear)?$/.exec(name);
  if (!match) return undefined;
  const cfg = [...VGG_CFGS[Number(match[1]) as 16]];
  return { arch: 'vgg', dataset, cfg, classifier: match[2] ? 'linear' : 'bn-mlp' };
}

function vggGroups(spec: VggSpec): ChannelGroup[] {
  const convs = spec.cfg.map((width, index) => ({ width, index })).filter((entry) => entry.width !== 'M');
  const pools = spec.cfg.filter((v) => v === 'M').length;
  const side = DATASET_SHAPES[spec.dataset].height / 2 ** pools / 2; // after the final 2×2 average pooling
  const head = spec.classifier === 'bn-mlp' ? 'classifier.0' : 'classifier';
  const groups: ChannelGroup[] = convs.map(({ width, index }, k) => {
    const members: ChannelMember[] = [
      { layer: vggConvName(k), kind: 'conv-out' },
      { layer: vggBnName(k), kind: 'bn' },
      k + 1 < convs.length
        ? { layer: vggConvName(k + 1), kind: 'conv-in' }
        : { layer: head, kind: 'dense-in', repeat: side * side },
    ];
    return { id: vggConvName(k), size: width as number, members, specIndex: index };
  });
  if (spec.classifier === 'bn-mlp') {
    // The hidden layer of the l1-norm head (512 wide, fixed by the seed; not in cfg, so specIndex −1).
    groups.push({ id: 'classifier.0', size: 512, specIndex: -1, members: [
      { layer: 'classifier.0', kind: 'dense-out' }, { layer: 'classifier.1', kind: 'bn' },
      { layer: 'classifier.3', kind: 'dense-in', repeat: 1 },
    ] });
  }
  return groups;
}

const vggWithWidths = (spec: VggSpec, widths: ReadonlyMap<string, number>): VggSpec =>
  ({ ...spec, cfg: cfgWithWidths(spec.cfg, vggGroups(spec), widths) });

export const vggFamily: ArchFamily<VggSpec> = {
  arch: 'vgg',
  modelNames: 'vgg11|13|16|19 (BN-MLP head), vgg…-linear',
  specProblems: vggProblems,
  namedSpec: namedVgg,
  build: buildVgg,
  channelGroups: vggGroups,
  residualTies: () => [],
  withWidths: vggWithWidths,
  narrowSpec: (spec, divisor) => vggWithWidths(spec, narrowedWidths(vggGroups(spec), divisor)),
  // The seed's forward applies the final 2×2 average pooling as a function.
  functionalInSeed: (layerName) => layerName === 'avgpool',
};
