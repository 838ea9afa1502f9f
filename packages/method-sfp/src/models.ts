import { defaultResNetCfg, registerModelNames, type ArchSpec, type DatasetName, type NamedModels } from '@rethink-prune/core';

/**
 * `resnet56-sfp`: the CIFAR ResNet of Soft Filter Pruning (he-y/soft-filter-pruning, which the seed's SFP folder
 * imports), in core's fields: its shortcut subsamples (average pool of kernel 1, stride 2) and passes the gradient
 * through the zero padding, the fc starts Kaiming-normal, and its ReLUs are functions (the seed's FLOPs counter does
 * not see them). Registered with core when this module loads.
 */
export const sfpModels: NamedModels = {
  modelNames: 'resnet20|32|56|110-sfp',
  namedSpec(name: string, dataset: DatasetName): ArchSpec | undefined {
    const match = /^resnet(\d+)-sfp$/.exec(name);
    const depth = Number(match?.[1]);
    if (!match || (depth - 2) % 6 !== 0) return undefined;
    return { arch: 'resnet', dataset, depth, cfg: defaultResNetCfg(depth), shortcutPool: 1, shortcutGradient: true,
      fcInit: 'kaiming-normal', functionalReLU: true };
  },
};
registerModelNames(sfpModels);
