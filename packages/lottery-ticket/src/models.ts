import {
  defaultPreResNetCfg, defaultResNetCfg, registerModelNames, type ArchSpec, type DatasetName, type NamedModels,
} from '@rethink-prune/core';

/**
 * The lottery-ticket folder's own CIFAR ResNet (`cifar/lottery-ticket/weight-level/models/cifar/resnet.py`, bearpaw's):
 * 6n+2 layers of basic blocks below depth 54 (so its "ResNet-50" has 8 per stage, widths 16/32/64), shortcuts that
 * change shape as a 1×1 conv + BN, BN γ starting at 1, convs N(0, √(2/(k²·C_out))), PyTorch's default fc.
 * Registered with core as `resnet50-lottery` (any basic depth) when this module loads.
 *
 * Its PreResNet (`models/cifar/preresnet.py`) is the weight-level folder's but for the block count: (depth − 2) / 6
 * bottlenecks per stage from depth 44 (the weight-level folder's: / 9), so its "PreResNet-110" has 18 per stage,
 * core's 164-layer pre-activation ResNet without channel selections, γ 1: `preresnet110-lottery`. Its basic-block
 * depths (below 44) are not built.
 */
export const lotteryModels: NamedModels = {
  modelNames: 'resnet20|32|44|50-lottery, preresnet<d ≥ 44>-lottery',
  namedSpec(name: string, dataset: DatasetName): ArchSpec | undefined {
    const preresnet = /^preresnet(\d+)-lottery$/.exec(name);
    if (preresnet) {
      const depth = Number(preresnet[1]);
      if ((depth - 2) % 6 !== 0 || depth < 44) return undefined;
      const coreDepth = 9 * ((depth - 2) / 6) + 2;
      return { arch: 'preresnet', dataset, depth: coreDepth, cfg: defaultPreResNetCfg(coreDepth), channelSelection: false,
        bnGamma: 1 };
    }
    const match = /^resnet(\d+)-lottery$/.exec(name);
    const depth = Number(match?.[1]);
    if (!match || (depth - 2) % 6 !== 0 || depth >= 54) return undefined;
    return { arch: 'resnet', dataset, depth, cfg: defaultResNetCfg(depth), shortcut: 'conv' };
  },
};
registerModelNames(lotteryModels);
