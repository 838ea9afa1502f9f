import {
  defaultPreResNetCfg, defaultResNetCfg, registerModelNames, type ArchSpec, type DatasetName, type NamedModels,
} from '@rethink-prune/core';

/** The README's `config.units` of SSS's three pruned ImageNet nets: [blocks, first block keeps its shortcut]. */
export const SSS_UNITS: Record<string, Array<[number, boolean]>> = {
  'sss-resnet41': [[0, false], [4, true], [6, true], [3, true]],
  'sss-resnet32': [[1, false], [4, true], [4, true], [1, true]],
  'sss-resnet26': [[0, false], [2, false], [5, false], [1, true]],
};

/**
 * SSS's models in core's fields: `resnet56-sss`, a CIFAR ResNet whose blocks each carry a scale λ (`blockScales`),
 * `preresnet164-sss`, the slimming folder's PreResNet with a λ per bottleneck, and `sss-resnet41|32|26`, the
 * pre-activation ResNet-50 with the blocks SSS kept (`units`). Registered with core when this module loads.
 */
export const sssModels: NamedModels = {
  modelNames: 'resnet20|32|56|110-sss, preresnet110|164-sss, sss-resnet41|32|26',
  namedSpec(name: string, dataset: DatasetName): ArchSpec | undefined {
    const units = SSS_UNITS[name];
    if (units) return { arch: 'preresnet-imagenet', dataset: 'imagenet', units: units.map(([n, keep]) => [n, keep]) };
    const pre = /^preresnet(\d+)-sss$/.exec(name);
    if (pre) {
      const depth = Number(pre[1]);
      if ((depth - 2) % 9 !== 0) return undefined;
      return { arch: 'preresnet', dataset, depth, cfg: defaultPreResNetCfg(depth), blockScales: true };
    }
    const match = /^resnet(\d+)-sss$/.exec(name);
    const depth = Number(match?.[1]);
    if (!match || (depth - 2) % 6 !== 0) return undefined;
    return { arch: 'resnet', dataset, depth, cfg: defaultResNetCfg(depth), blockScales: true };
  },
};
registerModelNames(sssModels);
