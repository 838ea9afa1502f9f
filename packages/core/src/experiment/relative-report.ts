import { experiments, type ResultRow } from '../results';
import { mean } from '../stats';
import type { ReferenceRow } from './reference';

const STRATEGIES = [
  { name: 'Fine-tuned', ours: 'acc_finetuned', delta: 'finetuned_delta', reference: 'finetuned_reference' },
  { name: 'Scratch-E', ours: 'acc_scratch_e', delta: 'scratchE_delta', reference: 'scratch_reference' },
  { name: 'Scratch-B', ours: 'acc_scratch_b', delta: 'scratchB_delta', reference: 'scratch_reference' },
] as const;

const signed = (value: number) => `${value >= 0 ? '+' : '−'}${Math.abs(value).toFixed(2)}`;

/**
 * Ours the way Tables 2 and 3 print theirs: each strategy's top-1 minus the unpruned model's (ours: our baseline of
 * the same run; theirs: the reference accuracy the table names), one line per experiment and strategy. Only
 * experiments whose variant has printed changes in `reference`; undefined when there are none.
 */
export function relativeMarkdown(rows: ResultRow[], reference: ReferenceRow[]): string | undefined {
  const lines: string[] = [];
  for (const runs of experiments(rows)) {
    const first = runs[0];
    const row = reference.find((r) => r.variant === first.variant && r.printed);
    if (!row?.printed) continue;
    const baseline = mean(runs.map((r) => Number(r.acc_baseline)));
    for (const strategy of STRATEGIES) {
      const accuracies = runs.map((r) => r[strategy.ours]).filter((v): v is number => typeof v === 'number');
      const ours = accuracies.length === 0 ? '–' : `${signed(mean(accuracies) - baseline)} (of ${baseline.toFixed(2)})`;
      const delta = row.printed[strategy.delta];
      const paper = delta === null ? '–' : `${signed(delta)} (of ${row.printed[strategy.reference].toFixed(2)})`;
      lines.push(`| ${first.model} (${first.dataset}) | ${first.variant} | ${first.profile} | ${strategy.name} | ${ours} | ${paper} |`);
    }
  }
  if (lines.length === 0) return undefined;
  return ['| model | variant | profile | strategy | ours: Δ top-1 (of our unpruned) | paper: Δ top-1 (of its reference) |',
    '| --- | --- | --- | --- | --- | --- |', ...lines].join('\n');
}
