import { describe, expect, it } from 'vitest';
import type { ResultRow } from '../results';
import type { ReferenceRow } from './reference';
import { relativeMarkdown } from './relative-report';

const run = (seed: number, accuracies: Partial<ResultRow>): ResultRow => ({
  row_kind: 'run', method: 'thinet', dataset: 'imagenet', model: 'resnet50-imagenet', variant: 'thinet-30',
  profile: 'paper', seed, ...accuracies,
} as ResultRow);

/** Table 2's ResNet50-30% row as printed. */
const REFERENCE: ReferenceRow[] = [{
  table: 'Table 2 (v1)', row: 'ImageNet / ResNet-50 / ResNet50-30%', dataset: 'imagenet', model: 'resnet50-imagenet',
  variant: 'thinet-30', baseline: null, finetuned: null, scratchE: null, scratchB: null,
  printed: { finetuned_reference: 75.15, finetuned_delta: -6.72, scratch_reference: 76.13, scratchE_delta: -5.21, scratchB_delta: -4.56 },
}];

describe('relativeMarkdown: ours printed as Table 2 prints theirs', () => {
  it('gives each strategy minus our unpruned accuracy (mean over seeds) beside the printed change', () => {
    // Seeds: baseline 76.00 and 76.50 (mean 76.25); Scratch-E 71.00 and 71.50 (mean 71.25 → −5.00);
    // Scratch-B 72.25 both (−4.00); an architecture has no fine-tuned run.
    const rows = [
      run(0, { acc_baseline: 76, acc_finetuned: null, acc_scratch_e: 71, acc_scratch_b: 72.25 }),
      run(1, { acc_baseline: 76.5, acc_finetuned: null, acc_scratch_e: 71.5, acc_scratch_b: 72.25 }),
    ];
    expect(relativeMarkdown(rows, REFERENCE)!.split('\n').slice(2)).toEqual([
      '| resnet50-imagenet (imagenet) | thinet-30 | paper | Fine-tuned | – | −6.72 (of 75.15) |',
      '| resnet50-imagenet (imagenet) | thinet-30 | paper | Scratch-E | −5.00 (of 76.25) | −5.21 (of 76.13) |',
      '| resnet50-imagenet (imagenet) | thinet-30 | paper | Scratch-B | −4.00 (of 76.25) | −4.56 (of 76.13) |',
    ]);
  });

  it('is undefined when no run has printed changes', () => {
    expect(relativeMarkdown([run(0, { acc_baseline: 70, variant: 'vgg16-conv' })], REFERENCE)).toBeUndefined();
  });
});
