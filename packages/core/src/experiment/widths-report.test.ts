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

  it('sets the share each layer kept beside the paper\'s, where the paper has as many layers', () => {
    const seed = (a: number, b: number) => [{ layer: 'conv1', width: 16, pruned: a }, { layer: 'conv2', width: 32, pruned: b }];
    const paper = { source: 'Table 8: VGG', widths: [{ width: 64, mean: 39.0, std: 3.7 }, { width: 128, mean: 127.8, std: 0.4 }] };
    // Ours: conv1 8, 10 → 9 of 16 = 56.3%; conv2 32, 30 → 31 of 32 = 96.9%; totals 40, 40 → 40 of 48 = 83.3%.
    // Paper: 39.0 of 64 = 60.9%; 127.8 of 128 = 99.8%; 166.8 of 192 = 86.9%.
    const table = widthsMarkdown('slimming vgg16-60', [seed(8, 32), seed(10, 30)], ['width', 'width*'], paper);
    expect(table.split('\n')).toEqual([
      '### slimming vgg16-60 (2 seeds)',
      '',
      'The paper\'s: Table 8: VGG.',
      '',
      '| # | layer | width | width* (mean ± std) | kept | paper: width → width* | paper kept |',
      '|---|---|---|---|---|---|---|',
      '| 1 | conv1 | 16 | 9.0 ± 1.4 | 56.3% | 64 → 39.0 ± 3.7 | 60.9% |',
      '| 2 | conv2 | 32 | 31.0 ± 1.4 | 96.9% | 128 → 127.8 ± 0.4 | 99.8% |',
      '| | total | 48 | 40.0 ± 0.0 | 83.3% | 192 → 166.8 | 86.9% |',
    ]);
    const other = widthsMarkdown('slimming vgg19-70', [seed(8, 32)], ['width', 'width*'], { ...paper, widths: paper.widths.slice(1) });
    expect(other).toContain('The paper\'s widths (Table 8: VGG) have 1 layers, this model 2: not set beside.');
    expect(other).toContain('| # | layer | width | width* (mean ± std) |\n');
  });
});
