import { namedSpec, type ArchSpec } from '@rethink-prune/core';
import { describe, expect, it } from 'vitest';
import { l1Variant, targetWidths } from './variants';

/**
 * Pruned widths of the L1-norm variants exactly as the seed's prune scripts produce them
 * (Eric-mingjie/rethinking-network-pruning @ 2ac473d). Each list is the output of a Python emulation of the
 * script's own `for m in model.modules()` loop (layer-id counter, skip list, per-stage ratio,
 * `int(out_channels * (1 - prune_prob_stage))`), walked over the seed's model definition; not computed
 * with our formula. Lists hold one width per basic block (conv1's filters), in block order.
 */

/** The conv1 of every basic block in order, named as our model builders name layers. */
function blockConv1Names(blocksPerStage: number[]): string[] {
  return blocksPerStage.flatMap((blocks, stage) =>
    Array.from({ length: blocks }, (_, block) => `layer${stage + 1}.${block}.conv1`));
}

function widthsOf(base: string, dataset: ArchSpec['dataset'], variantName: string): Map<string, number> {
  return targetWidths(namedSpec(base, dataset), l1Variant(variantName));
}

describe('L1 variants match the seed scripts block for block', () => {
  const cifarCases: Array<[string, string, number[]]> = [
    // cifar/l1-norm-pruning/res56prune.py -v A: skip [16, 20, 38, 54], prune_prob [0.1, 0.1, 0.1].
    ['resnet56', 'resnet56-A', [
      14, 14, 14, 14, 14, 14, 14, 16, 14,
      32, 28, 28, 28, 28, 28, 28, 28, 28,
      64, 57, 57, 57, 57, 57, 57, 57, 64,
    ]],
    // cifar/l1-norm-pruning/res56prune.py -v B: skip [16, 18, 20, 34, 38, 54], prune_prob [0.6, 0.3, 0.1].
    ['resnet56', 'resnet56-B', [
      6, 6, 6, 6, 6, 6, 6, 16, 16,
      32, 22, 22, 22, 22, 22, 22, 32, 22,
      64, 57, 57, 57, 57, 57, 57, 57, 64,
    ]],
    // cifar/l1-norm-pruning/res110prune.py -v A: skip [36], prune_prob [0.5, 0.0, 0.0].
    ['resnet110', 'resnet110-A', [
      8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 16,
      32, 32, 32, 32, 32, 32, 32, 32, 32, 32, 32, 32, 32, 32, 32, 32, 32, 32,
      64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64,
    ]],
    // cifar/l1-norm-pruning/res110prune.py -v B: skip [36, 38, 74], prune_prob [0.5, 0.4, 0.3].
    ['resnet110', 'resnet110-B', [
      8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 16,
      32, 19, 19, 19, 19, 19, 19, 19, 19, 19, 19, 19, 19, 19, 19, 19, 19, 19,
      64, 44, 44, 44, 44, 44, 44, 44, 44, 44, 44, 44, 44, 44, 44, 44, 44, 44,
    ]],
  ];

  // The seed's widths do not depend on the dataset (only the fc's class count does).
  for (const dataset of ['cifar10', 'cifar100'] as const) {
    it.each(cifarCases)(`%s %s on ${dataset}`, (base, variantName, seedWidths) => {
      const blocksPerStage = seedWidths.length / 3;
      const widths = widthsOf(base, dataset, variantName);
      expect([...widths.keys()]).toEqual(blockConv1Names([blocksPerStage, blocksPerStage, blocksPerStage]));
      expect([...widths.values()]).toEqual(seedWidths);
    });
  }

  it.each([
    // imagenet/l1-norm-pruning/prune.py -v A: layer ids count 3×3/7×7 convs only,
    // skip [2, 8, 14, 16, 26, 28, 30, 32], prune_prob [0.3, 0.3, 0.3, 0.0].
    ['resnet34-A', [64, 44, 44, 128, 89, 89, 128, 256, 179, 179, 179, 179, 256, 512, 512, 512]],
    // imagenet/l1-norm-pruning/prune.py -v B: same skip list, prune_prob [0.5, 0.6, 0.4, 0.0].
    ['resnet34-B', [64, 32, 32, 128, 51, 51, 128, 256, 153, 153, 153, 153, 256, 512, 512, 512]],
  ] as const)('resnet34-imagenet %s', (variantName, seedWidths) => {
    const widths = widthsOf('resnet34-imagenet', 'imagenet', variantName);
    expect([...widths.keys()]).toEqual(blockConv1Names([3, 4, 6, 3]));
    expect([...widths.values()]).toEqual([...seedWidths]);
  });

  it('vgg16-A: the fixed cfg of cifar/l1-norm-pruning/vggprune.py line 84, one width per conv', () => {
    // cfg = [32, 64, 'M', 128, 128, 'M', 256, 256, 256, 'M', 256, 256, 256, 'M', 256, 256, 256]
    const seedConvWidths = [32, 64, 128, 128, 256, 256, 256, 256, 256, 256, 256, 256, 256];
    for (const dataset of ['cifar10', 'cifar100'] as const) {
      const widths = widthsOf('vgg16', dataset, 'vgg16-A');
      expect([...widths.keys()]).toEqual(seedConvWidths.map((_, index) => `features.${index}.conv`));
      expect([...widths.values()]).toEqual(seedConvWidths);
    }
  });
});
