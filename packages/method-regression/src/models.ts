import { namedSpec, registerModelNames, type ArchSpec, type DatasetName, type NamedModels } from '@rethink-prune/core';

/**
 * `resnet50-official`: the seed's ImageNet ResNet-50 of the regression folder (`resnet50_official`, main_B.py's
 * reference for ResNet-50-2x): torchvision's layout with a bias on the shortcut convs. Registered with core when this
 * module loads.
 */
export const regressionModels: NamedModels = {
  modelNames: 'resnet50-official',
  namedSpec(name: string, dataset: DatasetName): ArchSpec | undefined {
    if (name !== 'resnet50-official') return undefined;
    return { ...namedSpec('resnet50-imagenet', dataset), shortcutBias: true } as ArchSpec;
  },
};
registerModelNames(regressionModels);
