import { narrow, resnetBlocksPerStage, type ArchSpec, type ResNetSpec, type VggCfg } from '@rethink-prune/core';

/**
 * The pruned models of Li et al. as the seed repository builds them (vggprune.py, res56prune.py,
 * res110prune.py): VGG-16 to a fixed cfg; ResNet-56/110 variants A and B prune only the first conv of
 * each block, by a per-stage ratio, except the convs in a skip list (layer ids count every conv from 1,
 * the stem conv being 1, so the first conv of block k is 2 + 2k).
 */
export interface VggTarget { kind: 'vgg-cfg'; base: 'vgg16'; cfg: VggCfg }
export interface ResNetTarget { kind: 'resnet-ratio'; base: 'resnet56' | 'resnet110'; skip: number[]; ratios: [number, number, number] }
export type L1Variant = VggTarget | ResNetTarget;

export const L1_VARIANTS: Record<string, L1Variant> = {
  'vgg16-A': { kind: 'vgg-cfg', base: 'vgg16', cfg: [32, 64, 'M', 128, 128, 'M', 256, 256, 256, 'M', 256, 256, 256, 'M', 256, 256, 256] },
  'resnet56-A': { kind: 'resnet-ratio', base: 'resnet56', skip: [16, 20, 38, 54], ratios: [0.1, 0.1, 0.1] },
  'resnet56-B': { kind: 'resnet-ratio', base: 'resnet56', skip: [16, 18, 20, 34, 38, 54], ratios: [0.6, 0.3, 0.1] },
  'resnet110-A': { kind: 'resnet-ratio', base: 'resnet110', skip: [36], ratios: [0.5, 0.0, 0.0] },
  'resnet110-B': { kind: 'resnet-ratio', base: 'resnet110', skip: [36, 38, 74], ratios: [0.5, 0.4, 0.3] },
};

export function l1Variant(name: string): L1Variant {
  const v = L1_VARIANTS[name];
  if (!v) throw new Error(`unknown L1 variant '${name}'; known: ${Object.keys(L1_VARIANTS).join(', ')} (ImageNet ResNet-34-A/B need the ImageNet models, not yet in core)`);
  return v;
}

/** Number of filters the seed keeps: int(out × (1 − ratio)); at least one (narrow profiles). */
export const keptFilters = (out: number, ratio: number) => Math.max(1, Math.floor(out * (1 - ratio)));

/**
 * Target width of each prunable group of `spec` (which may be a narrowed copy: the VGG target cfg is
 * narrowed by the same divisor; ratios apply as they are).
 */
export function targetWidths(spec: ArchSpec, variant: L1Variant, widthDivisor = 1): Map<string, number> {
  const widths = new Map<string, number>();
  if (variant.kind === 'vgg-cfg') {
    if (spec.arch !== 'vgg' || spec.cfg.length !== variant.cfg.length) throw new Error(`variant expects a VGG-16 spec (cfg of ${variant.cfg.length} entries)`);
    const convs = variant.cfg.filter((v) => v !== 'M') as number[];
    convs.forEach((w, i) => widths.set(`features.${i}.conv`, narrow(w, widthDivisor)));
    return widths;
  }
  if (spec.arch !== 'resnet' || `resnet${spec.depth}` !== variant.base) throw new Error(`variant expects a ${variant.base} spec`);
  const n = resnetBlocksPerStage((spec as ResNetSpec).depth);
  for (let s = 0; s < 3; s++) {
    for (let b = 0; b < n; b++) {
      const layerId = 2 + 2 * (s * n + b);
      const out = spec.cfg[s * n + b];
      widths.set(`layer${s + 1}.${b}.conv1`, variant.skip.includes(layerId) ? out : keptFilters(out, variant.ratios[s]));
    }
  }
  return widths;
}

