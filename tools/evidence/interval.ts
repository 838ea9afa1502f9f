/**
 * The paired comparison of the evidence tables: per seed, a scratch run's accuracy minus the fine-tuned one's (both
 * of the same pruned architecture and seed); their mean with a 95% interval from Student's t over the seeds.
 */

/** t(0.975, df) for df = 1 … 30 (two-sided 95%), as printed in every statistics table (scipy.stats.t.ppf). */
const T_975 = [
  12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228, 2.201, 2.179, 2.16, 2.145, 2.131, 2.12,
  2.11, 2.101, 2.093, 2.086, 2.08, 2.074, 2.069, 2.064, 2.06, 2.056, 2.052, 2.048, 2.045, 2.042,
];

/** The two-sided 95% quantile of Student's t with `df` degrees of freedom (the normal's 1.96 beyond 30). */
export function t975(df: number): number {
  if (!Number.isInteger(df) || df < 1) throw new Error(`t975: degrees of freedom ${df}: give a whole number ≥ 1`);
  return df <= T_975.length ? T_975[df - 1] : 1.96;
}

export interface Interval {
  mean: number;
  low: number;
  high: number;
  n: number;
}

/** Mean of the differences ± t(0.975, n−1)·s/√n; with one seed the interval is unbounded. */
export function pairedInterval(differences: number[]): Interval {
  const n = differences.length;
  if (n === 0) throw new Error('pairedInterval: no differences');
  const mean = differences.reduce((a, d) => a + d, 0) / n;
  if (n === 1) return { mean, low: -Infinity, high: Infinity, n };
  const variance = differences.reduce((a, d) => a + (d - mean) ** 2, 0) / (n - 1);
  const half = t975(n - 1) * Math.sqrt(variance / n);
  return { mean, low: mean - half, high: mean + half, n };
}

export type Verdict = 'scratch ≥ fine-tuned' | 'fine-tuned better' | 'random init ≥ ticket' | 'ticket better' |
  'inconclusive';

/** What a study's scratch runs are compared with: the fine-tuned model, or (lottery tickets) the winning ticket. */
export type Reference = 'finetuned' | 'ticket';

/** The two decided verdicts of a comparison with `reference`: scratch ahead (or level), and behind. */
export const OUTCOMES: Record<Reference, [Verdict, Verdict]> = {
  finetuned: ['scratch ≥ fine-tuned', 'fine-tuned better'],
  ticket: ['random init ≥ ticket', 'ticket better'],
};

/**
 * Ours: the interval of scratch − reference above zero, below zero, or across it. The paper printed means only, so
 * its verdict is the sign of the difference of its means.
 */
export function verdict(interval: Pick<Interval, 'low' | 'high'>, reference: Reference = 'finetuned'): Verdict {
  if (interval.low >= 0) return OUTCOMES[reference][0];
  if (interval.high < 0) return OUTCOMES[reference][1];
  return 'inconclusive';
}

export const paperVerdict = (scratch: number, finetuned: number): Verdict =>
  scratch >= finetuned ? 'scratch ≥ fine-tuned' : 'fine-tuned better';
