import {
  defaultPreResNetCfg, registerModelNames, VGG_CFGS, type ArchSpec, type DatasetName, type NamedModels,
} from '@rethink-prune/core';

/**
 * The weight-level folder's models (bearpaw's CIFAR models), in core's fields: `vgg19-wl` (conv bias, fan-in init,
 * BN γ 1, one linear layer), `preresnet110-wl` (no channel selections, γ 1), `densenet40-wl`, `densenet-bc100`
 * (bottleneck blocks, compression 0.5) and `densenet100-basic` (what the folder's scripts build for "DenseNet-BC-100":
 * 32 basic 3×3 layers per block, compression 0.5, ≈4.07M parameters). Registered with core when this module loads.
 */
export const weightLevelModels: NamedModels = {
  modelNames: 'vgg11|13|16|19-wl, preresnet<d>-wl, densenet40-wl, densenet-bc100, densenet100-basic',
  namedSpec(name: string, dataset: DatasetName): ArchSpec | undefined {
    const vgg = /^vgg(11|13|16|19)-wl$/.exec(name);
    if (vgg) {
      return { arch: 'vgg', dataset, cfg: [...VGG_CFGS[Number(vgg[1]) as 16]], classifier: 'linear', convBias: true,
        bnGamma: 1, convInit: 'fan-in' };
    }
    const preresnet = /^preresnet(\d+)-wl$/.exec(name);
    const depth = Number(preresnet?.[1]);
    if (preresnet && (depth - 2) % 9 === 0) {
      return { arch: 'preresnet', dataset, depth, cfg: defaultPreResNetCfg(depth), channelSelection: false, bnGamma: 1 };
    }
    const densenet = { arch: 'densenet' as const, dataset, channelSelection: false, bnGamma: 1 };
    if (name === 'densenet40-wl') return { ...densenet, depth: 40 };
    if (name === 'densenet-bc100') return { ...densenet, depth: 100, bottleneck: true, compressionRate: 2 };
    if (name === 'densenet100-basic') return { ...densenet, depth: 100, compressionRate: 2 };
    return undefined;
  },
};
registerModelNames(weightLevelModels);
