import * as tf from '@tensorflow/tfjs';
import { DATASET_SHAPES, type DatasetName } from '../datasets-info';
import { avgPool, batchNorm, conv, flatten, maxPool, pytorchLinear, relu, SeedSequence, type Sym } from './layers';

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

/** Blocks in order with their stage, index and the position of their widths in cfg. */
export function imagenetBlocks(depth: ImageNetResNetSpec['depth']): Array<{ name: string; stage: number; index: number; cfgIndex: number }> {
  const per = isBottleneckDepth(depth) ? 2 : 1;
  let k = 0;
  return IMAGENET_RESNET_LAYERS[depth].flatMap((blocks, s) =>
    Array.from({ length: blocks }, (_, b) => ({ name: `layer${s + 1}.${b}`, stage: s, index: b, cfgIndex: per * k++ })));
}

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
      out = relu(batchNorm(conv(x, `${n}.conv1`, w1, { kernel: 1, seeds }), `${n}.bn1`), `${n}.relu1`);
      out = relu(batchNorm(conv(out, `${n}.conv2`, w2, { stride, seeds }), `${n}.bn2`), `${n}.relu2`);
      out = batchNorm(conv(out, `${n}.conv3`, planes * 4, { kernel: 1, seeds }), `${n}.bn3`);
    } else {
      out = relu(batchNorm(conv(x, `${n}.conv1`, spec.cfg[blk.cfgIndex], { stride, seeds }), `${n}.bn1`), `${n}.relu1`);
      out = batchNorm(conv(out, `${n}.conv2`, planes, { seeds }), `${n}.bn2`);
    }
    let residual = x;
    if (stride !== 1 || inplanes !== planes * expansion) {
      residual = batchNorm(conv(x, `${n}.downsample.0`, planes * expansion, { kernel: 1, stride, seeds, padding: 'valid' }), `${n}.downsample.1`);
    }
    x = relu(tf.layers.add({ name: `${n}.add` }).apply([out, residual]) as Sym, `${n}.relu`);
    inplanes = planes * expansion;
  }
  x = flatten(avgPool(x, 'avgpool', shape.height / 32, 1), 'flatten');
  x = pytorchLinear(x, 'fc', shape.classes, inplanes, seeds);
  return tf.model({ inputs: input, outputs: x, name: `resnet${spec.depth}` });
}
