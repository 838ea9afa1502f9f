import * as tf from '@tensorflow/tfjs';
import { DATASET_SHAPES, type DatasetName } from '../datasets-info';
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
  /**
   * The weight-level folder's VGG (bearpaw's): convs with a bias and BN γ starting at 1, with the `linear` head.
   * Absent: the l1-norm / slimming form (no conv bias, γ = 0.5).
   */
  weightLevel?: boolean;
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
export function vggFeatures(x: Sym, cfg: VggCfg, seeds: SeedSequence, opts: { bias: boolean; gamma: number | null }): Sym {
  let convIndex = 0;
  let poolIndex = 0;
  for (const v of cfg) {
    if (v === 'M') {
      x = maxPool(x, `features.pool${poolIndex++}`);
      continue;
    }
    x = conv(x, vggConvName(convIndex), v, { seeds, bias: opts.bias });
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
  let x = vggFeatures(input, spec.cfg, seeds, { bias: spec.weightLevel ?? false, gamma: spec.weightLevel ? 1 : 0.5 });
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
