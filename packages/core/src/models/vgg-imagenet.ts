import * as tf from '@tensorflow/tfjs';
import { DATASET_SHAPES, type DatasetName } from '../datasets-info';
import { batchNorm, flatten, relu, SeedSequence, type Sym } from './layers';
import { vggFeatures, type VggCfg } from './vgg';

/**
 * ImageNet VGG as the seed's imagenet folders define it: 3×3 convs with bias, five 2×2 max pools (224 → 7),
 * then fc1 (7·7·C → classifier[0]) and fc2 (→ classifier[1]) before the class layer.
 * - `batchNorm: true` (network-slimming VGG-11): conv → BN (γ 0.5) → ReLU; fc → BatchNorm1d (γ 0.5) → ReLU.
 * - `batchNorm: false` (torchvision VGG-16 of ThiNet / regression pruning): conv → ReLU; fc → ReLU → Dropout(0.5).
 * Layer names: `features.i.conv`/`.bn` for conv i, `fc1`, `fc1.bn`, `fc2`, `fc2.bn`, `fc3`.
 */
export interface ImageNetVggSpec {
  arch: 'vgg-imagenet';
  dataset: DatasetName;
  cfg: VggCfg;
  classifier: [number, number];
  batchNorm: boolean;
}

export const IMAGENET_VGG_CFGS: Record<11 | 16, VggCfg> = {
  11: [64, 'M', 128, 'M', 256, 256, 'M', 512, 512, 'M', 512, 512, 'M'],
  16: [64, 64, 'M', 128, 128, 'M', 256, 256, 256, 'M', 512, 512, 512, 'M', 512, 512, 512, 'M'],
};

export function buildImageNetVgg(spec: ImageNetVggSpec, seed: number): tf.LayersModel {
  const shape = DATASET_SHAPES[spec.dataset];
  const seeds = new SeedSequence(seed);
  const input = tf.input({ shape: [shape.height, shape.width, shape.channels], name: 'input' });
  let x = vggFeatures(input, spec.cfg, seeds, { bias: true, gamma: spec.batchNorm ? 0.5 : null });
  x = flatten(x, 'flatten');
  const dense = (t: Sym, name: string, units: number) => tf.layers.dense({
    name, units, kernelInitializer: tf.initializers.randomNormal({ mean: 0, stddev: 0.01, seed: seeds.take() }),
  }).apply(t) as Sym;
  spec.classifier.forEach((units, i) => {
    const name = `fc${i + 1}`;
    x = dense(x, name, units);
    if (spec.batchNorm) x = batchNorm(x, `${name}.bn`, 0.5);
    x = relu(x, `${name}.relu`);
    if (!spec.batchNorm) x = tf.layers.dropout({ name: `${name}.dropout`, rate: 0.5, seed: seeds.take() }).apply(x) as Sym;
  });
  x = dense(x, 'fc3', shape.classes);
  return tf.model({ inputs: input, outputs: x, name: 'vgg' });
}
