import {
  IMAGENET_RESNET_LAYERS, namedSpec, type ArchSpec, type ImageNetResNetSpec, type ImageNetVggSpec, type VggCfg,
} from '@rethink-prune/core';

/**
 * The pruned architectures of ThiNet (Luo et al., ICCV 2017) that "Rethinking the Value of Network Pruning"
 * trains from scratch (Table 2), with the widths of the seed's imagenet/thinet/models/*.py. Scratch-B uses
 * core's imagenetScratchBRecipe(90, FLOPs(reference), FLOPs(pruned)), which follows main_B.py.
 */
export type ThiNetArchitecture =
  | 'thinet-conv' | 'thinet-gap' | 'thinet-tiny' | 'thinet-30' | 'thinet-50' | 'thinet-70';

export const THINET_ARCHITECTURE_NAMES: readonly ThiNetArchitecture[] = [
  'thinet-conv', 'thinet-gap', 'thinet-tiny', 'thinet-30', 'thinet-50', 'thinet-70',
];

/** thinetconv.py `conv`: conv1_1 … conv4_3 halved; conv5_x and the 4096-4096 classifier untouched. */
const THINET_CONV_CFG: VggCfg =
  [32, 32, 'M', 64, 64, 'M', 128, 128, 128, 'M', 256, 256, 256, 'M', 512, 512, 512, 'M'];
/** thinetvgg.py `gap`: ThiNet-Conv's widths without pool5, then global average pooling and one fc. */
const THINET_GAP_CFG: VggCfg =
  [32, 32, 'M', 64, 64, 'M', 128, 128, 128, 'M', 256, 256, 256, 'M', 512, 512, 512];
/** thinetvgg.py `tiny`. */
const THINET_TINY_CFG: VggCfg = [16, 16, 'M', 32, 32, 'M', 64, 64, 64, 'M', 128, 128, 128, 'M', 128, 128, 256];

/**
 * Inner width of every bottleneck per stage (conv1 and conv2 alike; conv3 keeps 4·planes), as the seed's
 * cfg_thinet30/50/70 list them: int(ratio · planes) for planes 64/128/256/512.
 */
const THINET_RESNET_STAGE_WIDTHS: Record<'thinet-30' | 'thinet-50' | 'thinet-70', number[]> = {
  'thinet-30': [19, 38, 76, 153],
  'thinet-50': [32, 64, 128, 256],
  'thinet-70': [44, 89, 179, 358],
};

const thinetVgg = (cfg: VggCfg, head: 'fc' | 'gap'): ImageNetVggSpec => ({
  arch: 'vgg-imagenet', dataset: 'imagenet', cfg: [...cfg], batchNorm: false,
  ...(head === 'fc' ? { classifier: [4096, 4096] as [number, number] } : { head }),
});

/**
 * ResNet-50 with the same inner width in each stage. The seed's shortcut conv has bias=True; core's ImageNet
 * ResNet has none, so these specs count 3 840 parameters fewer than the seed's (see architectures.test.ts).
 */
function thinetResNet(stageWidths: number[]): ImageNetResNetSpec {
  // Two widths (conv1, conv2) per block, blocks [3, 4, 6, 3].
  const cfg = IMAGENET_RESNET_LAYERS[50]
    .flatMap((blocks, stage) => new Array(2 * blocks).fill(stageWidths[stage]));
  return { arch: 'resnet-imagenet', dataset: 'imagenet', depth: 50, cfg };
}

export const THINET_ARCHITECTURES: Record<ThiNetArchitecture, ArchSpec> = {
  'thinet-conv': thinetVgg(THINET_CONV_CFG, 'fc'),
  'thinet-gap': thinetVgg(THINET_GAP_CFG, 'gap'),
  'thinet-tiny': thinetVgg(THINET_TINY_CFG, 'gap'),
  'thinet-30': thinetResNet(THINET_RESNET_STAGE_WIDTHS['thinet-30']),
  'thinet-50': thinetResNet(THINET_RESNET_STAGE_WIDTHS['thinet-50']),
  'thinet-70': thinetResNet(THINET_RESNET_STAGE_WIDTHS['thinet-70']),
};

/** The unpruned model each is compared to (main_B.py: `vgg_official` or `resnet50_official`). */
export const THINET_REFERENCES: Record<ThiNetArchitecture, ArchSpec> = {
  'thinet-conv': namedSpec('vgg16-imagenet'),
  'thinet-gap': namedSpec('vgg16-imagenet'),
  'thinet-tiny': namedSpec('vgg16-imagenet'),
  'thinet-30': namedSpec('resnet50-imagenet'),
  'thinet-50': namedSpec('resnet50-imagenet'),
  'thinet-70': namedSpec('resnet50-imagenet'),
};
