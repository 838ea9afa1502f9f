import { describe, expect, it } from 'vitest';
import { namedSpec } from '../spec';
import { withWidths } from '../pruning/graph';
import { layerWidthLines, layerWidths, widthsMarkdown } from './widths-report';

describe('the widths report (the paper\'s Table 8: width and width* per layer, mean ± std over seeds)', () => {
  it('layerWidths pairs every prunable group with its width after the prune', () => {
    const before = namedSpec('vgg11');
    const after = withWidths(before, new Map([['features.0.conv', 40], ['features.7.conv', 100]]));
    const widths = layerWidths(before, after);
    expect(widths.map((w) => w.width)).toEqual([64, 128, 256, 256, 512, 512, 512, 512]);
    expect(widths.map((w) => w.pruned)).toEqual([40, 128, 256, 256, 512, 512, 512, 100]);
    expect(layerWidthLines(widths).at(-1)).toMatch(/total +2752 → +2316$/);
  });

  it('gives mean ± sample std of width* over seeds, and the totals', () => {
    const seed = (a: number, b: number) => [{ layer: 'conv1', width: 64, pruned: a }, { layer: 'conv2', width: 128, pruned: b }];
    // conv1: 30, 34, 38 → mean 34, std 4; conv2: 100 ×3 → 100 ± 0; totals 130, 134, 138 → 134 ± 4.
    const table = widthsMarkdown('slimming vgg19-70', [seed(30, 100), seed(34, 100), seed(38, 100)]);
    expect(table.split('\n')).toEqual([
      '### slimming vgg19-70 (3 seeds)',
      '',
      '| # | layer | width | width* (mean ± std) |',
      '|---|---|---|---|',
      '| 1 | conv1 | 64 | 34.0 ± 4.0 |',
      '| 2 | conv2 | 128 | 100.0 ± 0.0 |',
      '| | total | 192 | 134.0 ± 4.0 |',
    ]);
  });
});
