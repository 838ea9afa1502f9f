import * as tf from '@tensorflow/tfjs';
import { DATASET_SHAPES, isDatasetName, type DatasetName } from '../datasets-info';
import { isPositiveInt, narrow, type ArchFamily } from './family';
import {
  avgPool, batchNorm, conv, flatten, kaimingLinear, maxPool, relu, SeedSequence, type Sym,
} from './layers';

/**
 * The pre-activation ImageNet ResNet-50 of Sparse Structure Selection (TuSimple/sparse-structure-selection,
 * `symbol/resnet.py`) and the pruned ResNet-41/32/26 of its README. Stem 7×7/2 conv + BN + ReLU + 3×3/2 max
 * pool; four stages of bottlenecks BN-ReLU-conv1 1×1 (planes), BN-ReLU-conv2 3×3 (stride), BN-ReLU-conv3
 * 1×1 (4·planes); a stage's first block adds a 1×1 projection (stride, no BN) of its pre-activated input; final
 * BN-ReLU, global average pool, fc. `units` holds the README's (a, b) per stage: b = true keeps the first
 * block's branch and a counts every block; b = false drops that branch (its BN-ReLU and projection stay) and a
 * counts the other blocks.
 */
export interface PreResNetImageNetSpec {
  arch: 'preresnet-imagenet';
  dataset: DatasetName;
  units: Array<[number, boolean]>;
  /** Stage widths (bottleneck planes); absent: 64, 128, 256, 512. Narrow copies set them. */
  planes?: number[];
}

export const PRERESNET50_PLANES = [64, 128, 256, 512];
/** ResNet-50's blocks per stage: the most a stage can keep. */
export const PRERESNET50_STAGE_BLOCKS = [3, 4, 6, 3];

/** ResNet-50's units: [blocks, whether the stage's first block has its projection shortcut] per stage. */
export const PRERESNET50_UNITS: Array<[number, boolean]> = [[3, true], [4, true], [6, true], [3, true]];

const planesOf = (spec: Pick<PreResNetImageNetSpec, 'planes'>) => spec.planes ?? PRERESNET50_PLANES;

/** BN-ReLU-conv, the pre-activation step every conv of a branch takes. */
function preActConv(x: Sym, name: string, index: number, filters: number,
  opts: { kernel: number; stride?: number; seeds: SeedSequence }): Sym {
  const activated = relu(batchNorm(x, `${name}.bn${index}`), `${name}.relu${index}`);
  return conv(activated, `${name}.conv${index}`, filters, { ...opts, fanIn: true });
}

export function buildPreResNetImageNet(spec: PreResNetImageNetSpec, seed: number): tf.LayersModel {
  const shape = DATASET_SHAPES[spec.dataset];
  // MXNet's Xavier(gaussian, 'in', magnitude 2) is He normal on fan-in, for the convs and the fc alike.
  const seeds = new SeedSequence(seed);
  const input = tf.input({ shape: [shape.height, shape.width, shape.channels], name: 'input' });
  // The stem is as wide as stage 1's planes (64), so narrow copies narrow it too.
  let x = conv(input, 'conv1', planesOf(spec)[0], { kernel: 7, stride: 2, seeds, fanIn: true });
  x = relu(batchNorm(x, 'bn1'), 'relu');
  // MXNet pads the max pool by 1; zeros are harmless after the ReLU.
  x = tf.layers.zeroPadding2d({ name: 'maxpool.pad', padding: 1 }).apply(x) as Sym;
  x = maxPool(x, 'maxpool', 3, 2);
  spec.units.forEach(([count, keepFirst], stage) => {
    const planes = planesOf(spec)[stage];
    const stride = stage === 0 ? 1 : 2;
    const first = `layer${stage + 1}.0`;
    const activated = relu(batchNorm(x, `${first}.bn1`), `${first}.relu1`);
    const shortcut = conv(activated, `${first}.downsample`, 4 * planes,
      { kernel: 1, stride, seeds, padding: 'valid', fanIn: true });
    if (keepFirst) {
      let out = conv(activated, `${first}.conv1`, planes, { kernel: 1, seeds, fanIn: true });
      out = preActConv(out, first, 2, planes, { kernel: 3, stride, seeds });
      out = preActConv(out, first, 3, 4 * planes, { kernel: 1, seeds });
      x = tf.layers.add({ name: `${first}.add` }).apply([out, shortcut]) as Sym;
    } else {
      x = shortcut;
    }
    const others = keepFirst ? count - 1 : count;
    for (let index = 1; index <= others; index++) {
      const name = `layer${stage + 1}.${index}`;
      let out = preActConv(x, name, 1, planes, { kernel: 1, seeds });
      out = preActConv(out, name, 2, planes, { kernel: 3, seeds });
      out = preActConv(out, name, 3, 4 * planes, { kernel: 1, seeds });
      x = tf.layers.add({ name: `${name}.add` }).apply([out, x]) as Sym;
    }
  });
  x = relu(batchNorm(x, 'bn'), 'relu.final');
  const features = x.shape[3] as number;
  x = flatten(avgPool(x, 'avgpool', shape.height / 32, 1), 'flatten');
  x = kaimingLinear(x, 'fc', shape.classes, features, seeds);
  return tf.model({ inputs: input, outputs: x, name: 'preresnet-imagenet' });
}

function unitProblems(units: unknown): string[] {
  const example = 'e.g. [[3, true], [4, true], [6, true], [3, true]]';
  if (!Array.isArray(units) || units.length !== 4) {
    return [`units: ${JSON.stringify(units)}; give four stages of [blocks, keepFirst], ${example}`];
  }
  return units.flatMap((unit, stage) => {
    if (!Array.isArray(unit) || unit.length !== 2 || typeof unit[1] !== 'boolean') {
      return [`units[${stage}]: ${JSON.stringify(unit)} is not [blocks, keepFirst], ${example}`];
    }
    const [count, keepFirst] = unit as [unknown, boolean];
    // With the first branch kept a counts it too; without, a counts the stage's other blocks.
    const low = keepFirst ? 1 : 0;
    const high = keepFirst ? PRERESNET50_STAGE_BLOCKS[stage] : PRERESNET50_STAGE_BLOCKS[stage] - 1;
    if (typeof count !== 'number' || !Number.isInteger(count) || count < low || count > high) {
      return [`units[${stage}]: ${JSON.stringify(count)} blocks with keepFirst ${keepFirst}; ` +
        `stage ${stage + 1} of ResNet-50 allows ${low}..${high}`];
    }
    return [];
  });
}

function preResNetImageNetProblems(spec: Record<string, unknown>): string[] {
  const problems = unitProblems(spec.units);
  const planes = spec.planes;
  const planesValid = Array.isArray(planes) && planes.length === 4 && planes.every(isPositiveInt);
  if (planes !== undefined && !planesValid) {
    problems.push(`planes: ${JSON.stringify(planes)}; give the four stage widths, e.g. [64, 128, 256, 512]`);
  }
  if (isDatasetName(spec.dataset) && DATASET_SHAPES[spec.dataset].height !== 224) {
    problems.push(`dataset: ${spec.dataset}; the SSS pre-activation ResNets take 224×224 input`);
  }
  return problems;
}

/** `preresnet50-imagenet` (always on the imagenet dataset). */
function namedPreResNetImageNet(name: string): PreResNetImageNetSpec | undefined {
  if (name !== 'preresnet50-imagenet') return undefined;
  const units = PRERESNET50_UNITS.map(([count, keepFirst]): [number, boolean] => [count, keepFirst]);
  return { arch: 'preresnet-imagenet', dataset: 'imagenet', units };
}

export const preresnetImageNetFamily: ArchFamily<PreResNetImageNetSpec> = {
  arch: 'preresnet-imagenet',
  modelNames: 'preresnet50-imagenet',
  specProblems: preResNetImageNetProblems,
  namedSpec: namedPreResNetImageNet,
  build: buildPreResNetImageNet,
  // No method prunes channels of these nets (SSS removes whole blocks, written in `units`): no groups, no ties.
  channelGroups: () => [],
  residualTies: () => [],
  withWidths: (spec) => spec,
  narrowSpec: (spec, divisor) => ({ ...spec, planes: planesOf(spec).map((width) => narrow(width, divisor)) }),
  functionalInSeed: () => false,
};
