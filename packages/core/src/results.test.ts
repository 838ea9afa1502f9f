import { describe, expect, it } from 'vitest';
import { RESULT_COLUMNS, resultsMarkdown, type ResultRow } from './results';

/** A run row with every column empty but those given. */
const row = (values: Partial<ResultRow>): ResultRow =>
  ({ ...Object.fromEntries(RESULT_COLUMNS.map((c) => [c, null])), row_kind: 'run', method: 'm', model: 'vgg19',
    dataset: 'cifar10', variant: 'v', profile: 'quick', ...values }) as ResultRow;

describe('resultsMarkdown', () => {
  it('shows the measured speed-up (unpruned ms / pruned ms, mean over seeds) next to the FLOPs reduction', () => {
    // Seed 0: 10/5 = 2 at b1, 64/32 = 2 at b64; seed 1: 12/4 = 3 and 60/60 = 1 → 2.50× and 1.50×.
    const rows = [
      row({ seed: 0, flops_reduction_pct: 51.2, latency_ms_b1: 10, pruned_latency_ms_b1: 5, latency_ms_b64: 64,
        pruned_latency_ms_b64: 32, acc_baseline: 90 }),
      row({ seed: 1, flops_reduction_pct: 51.2, latency_ms_b1: 12, pruned_latency_ms_b1: 4, latency_ms_b64: 60,
        pruned_latency_ms_b64: 60, acc_baseline: 92 }),
    ];
    const [head, , line] = resultsMarkdown(rows).split('\n');
    expect(head).toContain('| FLOPs ↓% | speed-up b1 / b64 | baseline |');
    expect(line).toContain('| 51.2 | 2.50× / 1.50× | 91.00 ± 1.41 / – |');
  });

  it('adds the plain baseline column only when a row has one, and a dash where latency was not measured', () => {
    const [head, , line] = resultsMarkdown([row({ seed: 0, acc_baseline: 80, acc_baseline_plain: 81.5 })]).split('\n');
    expect(head).toContain('| speed-up b1 / b64 | baseline (plain) | baseline |');
    expect(line).toContain('| – / – | 81.50 / – | 80.00 / – |');
  });
});
