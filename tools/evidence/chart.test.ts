import { describe, expect, it } from 'vitest';
import { accuracyPoints, differenceChart, differencePoints } from './chart';
import type { EvidenceRow } from './evidence';
import { studyById } from './studies';

const acc = (mean: number | null, std: number | null) => ({ mean, std, paper: null });
const row = (over: Partial<EvidenceRow>): EvidenceRow => ({ study: 'l1-norm', variant: 'vgg16-A', lr: null, round: null,
  model: 'vgg16', seeds: [0, 1, 2], flopsReductionPct: 34.4,
  accuracy: { baseline: acc(73.7, 0.74), finetuned: acc(72.88, 0.89), scratch_e: acc(70.17, 2.35),
    scratch_b: acc(73.97, 2.24), scratch_e_saved_init: acc(null, null) },
  comparisons: [{ name: 'Scratch-E', ours: { mean: -2.72, low: -9.95, high: 4.52, n: 3, verdict: 'inconclusive' },
    paper: { difference: 0.21, verdict: 'scratch ≥ fine-tuned' } }],
  baselineLastQuarterGain: [1.05, 0.95, 0.25], converged: false, ...over });

describe('accuracyPoints: the accuracies beside the differences', () => {
  it('each regime of the study\'s table, mean ± one std, in the table\'s order', () => {
    expect(accuracyPoints(studyById('l1-norm'), [row({})], (r) => r.variant)).toEqual([
      { row: 'vgg16-A', regime: 'baseline', mean: 73.7, low: 72.96, high: 74.44 },
      { row: 'vgg16-A', regime: 'fine-tuned', mean: 72.88, low: 71.99, high: 73.77 },
      { row: 'vgg16-A', regime: 'Scratch-E', mean: 70.17, low: 67.82, high: 72.52 },
      { row: 'vgg16-A', regime: 'Scratch-B', mean: 73.97, low: 71.73, high: 76.21 },
    ].map((p) => ({ ...p, low: expect.closeTo(p.low, 9), high: expect.closeTo(p.high, 9) })));
  });

  it('a lottery study\'s ticket and random init; no bars for one seed, no point where a regime has no number', () => {
    const ticket = row({ study: 'lottery-ticket', seeds: [0], accuracy: { baseline: acc(71, null), finetuned: acc(null, null),
      scratch_e: acc(60, null), scratch_b: acc(null, null), scratch_e_saved_init: acc(null, null) } });
    expect(accuracyPoints(studyById('lottery-ticket'), [ticket], () => 'vgg16-A, LR 0.1')).toEqual([
      { row: 'vgg16-A, LR 0.1', regime: 'baseline', mean: 71 },
      { row: 'vgg16-A, LR 0.1', regime: 'random init', mean: 60 },
    ]);
  });

  it('draws both panels: the accuracies\' axis beside the differences\'', async () => {
    const rows = [row({})];
    const svg = await differenceChart(differencePoints(rows, (r) => r.variant), 'l1-norm', 'scratch − fine-tuned, top-1 points',
      accuracyPoints(studyById('l1-norm'), rows, (r) => r.variant));
    expect(svg).toMatch(/^<svg/);
    expect(svg).toContain('top-1 %, mean ± std over seeds');
    expect(svg).toContain('scratch − fine-tuned, top-1 points');
    const alone = await differenceChart(differencePoints(rows, (r) => r.variant), 'l1-norm');
    expect(alone).not.toContain('top-1 %, mean ± std over seeds');
  });

  it('writes a long row label whole, not cut with an ellipsis', async () => {
    const label = 'vgg16-iterative LR 0.01 round 3, a label well over 180 pixels long';
    const rows = [row({})];
    const svg = await differenceChart(differencePoints(rows, () => label), 'l1-norm', undefined,
      accuracyPoints(studyById('l1-norm'), rows, () => label));
    expect(svg.split(`>${label}</text>`).length - 1).toBe(2);
    expect(svg).not.toContain('…');
  });

  it('keeps the table\'s row order in both panels: a one-seed row (no bars) between two with bars', async () => {
    const one = (variant: string, seeds: number[]) => row({ variant, seeds, comparisons: [{ name: 'Scratch-E',
      ours: seeds.length > 1 ? { mean: 1, low: 0, high: 2, n: 3, verdict: 'inconclusive' }
        : { mean: 1, low: -Infinity, high: Infinity, n: 1, verdict: 'inconclusive' }, paper: null }] });
    const rows = [one('first-row', [0, 1, 2]), one('middle-row', [0]), one('last-row', [0, 1, 2])];
    const svg = await differenceChart(differencePoints(rows, (r) => r.variant), 'l1-norm', undefined,
      accuracyPoints(studyById('l1-norm'), rows, (r) => r.variant));
    const labels = [...svg.matchAll(/>(first|middle|last)-row<\/text>/g)].map((m) => m[1]);
    expect(labels).toEqual(['first', 'middle', 'last', 'first', 'middle', 'last']);
  });
});
