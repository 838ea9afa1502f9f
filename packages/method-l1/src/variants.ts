import { imagenetBlocks, resnetBlocksPerStage, type ArchSpec, type ImageNetResNetSpec, type ResNetSpec, type VggCfg } from '@rethink-prune/core';

/**
 * The pruned models of Li et al. as the seed repository builds them (vggprune.py, res56prune.py,
 * res110prune.py): VGG-16 to a fixed cfg; ResNet-56/110 variants A and B prune only the first conv of
 * each block, by a per-stage ratio, except the convs in a skip list (layer ids count every conv from 1,
 * the stem conv being 1, so the first conv of block k is 2 + 2k).
 */
export interface VggTarget { kind: 'vgg-cfg'; base: 'vgg16'; cfg: VggCfg }
export interface ResNetTarget { kind: 'resnet-ratio'; base: 'resnet56' | 'resnet110' | 'resnet34-imagenet'; skip: number[]; ratios: number[] }
export type L1Variant = VggTarget | ResNetTarget;

export const L1_VARIANTS: Record<string, L1Variant> = {
  'vgg16-A': { kind: 'vgg-cfg', base: 'vgg16', cfg: [32, 64, 'M', 128, 128, 'M', 256, 256, 256, 'M', 256, 256, 256, 'M', 256, 256, 256] },
  'resnet56-A': { kind: 'resnet-ratio', base: 'resnet56', skip: [16, 20, 38, 54], ratios: [0.1, 0.1, 0.1] },
  'resnet56-B': { kind: 'resnet-ratio', base: 'resnet56', skip: [16, 18, 20, 34, 38, 54], ratios: [0.6, 0.3, 0.1] },
  'resnet110-A': { kind: 'resnet-ratio', base: 'resnet110', skip: [36], ratios: [0.5, 0.0, 0.0] },
  'resnet110-B': { kind: 'resnet-ratio', base: 'resnet110', skip: [36, 38, 74], ratios: [0.5, 0.4, 0.3] },
  // imagenet/l1-norm-pruning/prune.py: layer ids count the 3×3 and 7×7 convs only (1×1 shortcuts skipped).
  'resnet34-A': { kind: 'resnet-ratio', base: 'resnet34-imagenet', skip: [2, 8, 14, 16, 26, 28, 30, 32], ratios: [0.3, 0.3, 0.3, 0.0] },
  'resnet34-B': { kind: 'resnet-ratio', base: 'resnet34-imagenet', skip: [2, 8, 14, 16, 26, 28, 30, 32], ratios: [0.5, 0.6, 0.4, 0.0] },
};

export function l1Variant(name: string): L1Variant {
  const v = L1_VARIANTS[name];
  if (!v) throw new Error(`unknown L1 variant '${name}'; known: ${Object.keys(L1_VARIANTS).join(', ')}`);
  return v;
}

/** Number of filters the seed keeps: int(out × (1 − ratio)). */
export const keptFilters = (out: number, ratio: number) => Math.floor(out * (1 - ratio));

/** The basic blocks of a ResNet spec in order; the seed's layer id of block k's first conv is 2 + 2k. */
function blockList(spec: ArchSpec, variant: ResNetTarget): Array<{ name: string; stage: number }> {
  if (spec.arch === 'resnet' && `resnet${spec.depth}` === variant.base) {
    const n = resnetBlocksPerStage((spec as ResNetSpec).depth);
    return Array.from({ length: 3 * n }, (_, k) => ({ name: `layer${Math.floor(k / n) + 1}.${k % n}`, stage: Math.floor(k / n) }));
  }
  if (spec.arch === 'resnet-imagenet' && `resnet${spec.depth}-imagenet` === variant.base) {
    return imagenetBlocks(spec.depth).map((b) => ({ name: b.name, stage: b.stage }));
  }
  throw new Error(`variant expects a ${variant.base} spec`);
}

/**
 * Target width of each prunable group of the variant's full-width model, as the seed's scripts set them
 * (a narrow copy gets the same fractions through core's scaleTargets).
 */
export function targetWidths(spec: ArchSpec, variant: L1Variant): Map<string, number> {
  const widths = new Map<string, number>();
  if (variant.kind === 'vgg-cfg') {
    if (spec.arch !== 'vgg' || spec.cfg.length !== variant.cfg.length) {
      throw new Error(`variant expects a VGG-16 spec (cfg of ${variant.cfg.length} entries)`);
    }
    const convs = variant.cfg.filter((v) => v !== 'M') as number[];
    convs.forEach((w, i) => widths.set(`features.${i}.conv`, w));
    return widths;
  }
  // blockList accepts only the CIFAR and ImageNet ResNets, whose cfg holds each block's inner width.
  const inner = (spec as ResNetSpec | ImageNetResNetSpec).cfg;
  blockList(spec, variant).forEach(({ name, stage }, k) => {
    const out = inner[k];
    widths.set(`${name}.conv1`, variant.skip.includes(2 + 2 * k) ? out : keptFilters(out, variant.ratios[stage]));
  });
  return widths;
}
