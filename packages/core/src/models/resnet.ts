import * as tf from '@tensorflow/tfjs';
import { DATASET_SHAPES, type DatasetName } from '../datasets-info';
import { avgPool, batchNorm, conv, flatten, pytorchLinear, relu, SeedSequence, type Sym } from './layers';

/**
 * CIFAR ResNet of the l1-norm folder: depth 6n+2, three stages of n basic blocks (16, 32, 64 channels).
 * Each block's inner width (conv1's filters) comes from `cfg`, one entry per block, so L1 pruning of the
 * first conv of each block is a spec edit. When the width changes, the shortcut is 2×2 average pooling
 * and zero channels (no parameters): a fixed, non-trainable 1×1 conv with an identity kernel, so the saved
 * model is standard tfjs layers.
 */
export interface ResNetSpec {
  arch: 'resnet';
  dataset: DatasetName;
  depth: number;
  /** Inner width of each block, 3n entries; default [16]*n + [32]*n + [64]*n. */
  cfg: number[];
  /** Output widths of the three stages; default [16, 32, 64] (narrower for the quick profile). */
  stageWidths?: number[];
}

export const RESNET_STAGE_WIDTHS = [16, 32, 64];

export function resnetBlocksPerStage(depth: number): number {
  return (depth - 2) / 6;
}

export function defaultResNetCfg(depth: number, stageWidths = RESNET_STAGE_WIDTHS): number[] {
  const n = resnetBlocksPerStage(depth);
  return stageWidths.flatMap((w) => new Array(n).fill(w));
}

export const stageWidthsOf = (spec: ResNetSpec) => spec.stageWidths ?? RESNET_STAGE_WIDTHS;

export const resnetBlockName = (stage: number, block: number) => `layer${stage + 1}.${block}`;
export const SHORTCUT_SUFFIX = '.shortcut';

export function buildResNet(spec: ResNetSpec, seed: number): tf.LayersModel {
  const shape = DATASET_SHAPES[spec.dataset];
  const seeds = new SeedSequence(seed);
  const n = resnetBlocksPerStage(spec.depth);
  const input = tf.input({ shape: [shape.height, shape.width, shape.channels], name: 'input' });
  const widths = stageWidthsOf(spec);
  let x = relu(batchNorm(conv(input, 'conv1', widths[0], { seeds }), 'bn1'), 'relu');
  let inplanes = widths[0];
  const shortcuts: Array<{ name: string; from: number; to: number }> = [];
  widths.forEach((planes, s) => {
    for (let b = 0; b < n; b++) {
      const name = resnetBlockName(s, b);
      const stride = s > 0 && b === 0 ? 2 : 1;
      let out = conv(x, `${name}.conv1`, spec.cfg[s * n + b], { stride, seeds });
      out = relu(batchNorm(out, `${name}.bn1`), `${name}.relu1`);
      out = batchNorm(conv(out, `${name}.conv2`, planes, { seeds }), `${name}.bn2`);
      let residual = x;
      if (stride !== 1 || inplanes !== planes) {
        const pooled = stride === 2 ? avgPool(x, `${name}.downsample`, 2) : x;
        residual = tf.layers.conv2d({
          name: `${name}${SHORTCUT_SUFFIX}`, filters: planes, kernelSize: 1, useBias: false, trainable: false,
          kernelInitializer: 'zeros',
        }).apply(pooled) as Sym;
        shortcuts.push({ name: `${name}${SHORTCUT_SUFFIX}`, from: inplanes, to: planes });
      }
      x = relu(tf.layers.add({ name: `${name}.add` }).apply([out, residual]) as Sym, `${name}.relu2`);
      inplanes = planes;
    }
  });
  x = flatten(avgPool(x, 'avgpool', shape.height / 4), 'flatten');
  x = pytorchLinear(x, 'fc', shape.classes, widths[2], seeds);
  const model = tf.model({ inputs: input, outputs: x, name: 'resnet' });
  for (const s of shortcuts) {
    // Zero-padding shortcut: channel c of the input goes to channel c of the output, the rest are zero.
    const kernel = tf.tidy(() => tf.eye(s.from, s.to).reshape([1, 1, s.from, s.to]));
    model.getLayer(s.name).setWeights([kernel]);
    kernel.dispose();
  }
  return model;
}
