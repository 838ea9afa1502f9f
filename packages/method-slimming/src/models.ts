import { namedSpec, registerModelNames, type ArchSpec, type DatasetName, type NamedModels } from '@rethink-prune/core';

/**
 * `vgg19-slimming`: the network-slimming folder's VGG, core's `vgg19-linear` (BN γ 0.5, no conv bias, one linear
 * layer). Its own name keeps the run directories of this method where they were. Registered with core when this
 * module loads.
 */
export const slimmingModels: NamedModels = {
  modelNames: 'vgg11|13|16|19-slimming',
  namedSpec(name: string, dataset: DatasetName): ArchSpec | undefined {
    const match = /^(vgg(11|13|16|19))-slimming$/.exec(name);
    return match ? namedSpec(`${match[1]}-linear`, dataset) : undefined;
  },
};
registerModelNames(slimmingModels);
