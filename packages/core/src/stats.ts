/** The few statistics the result tables and benchmarks share. */
export const mean = (xs: number[]) => xs.reduce((a, x) => a + x, 0) / xs.length;

/** Sample standard deviation (n − 1), as numpy.std(ddof=1); 0 for a single value. */
export function sampleStd(xs: number[]): number {
  if (xs.length < 2) return 0;
  const m = mean(xs);
  return Math.sqrt(xs.reduce((a, x) => a + (x - m) ** 2, 0) / (xs.length - 1));
}

export function median(xs: number[]): number {
  const sorted = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

/** How much smaller `part` is than `whole`, in percent with two decimals (the result rows' `_reduction_pct`). */
export const reductionPct = (part: number, whole: number) => Math.round(10000 * (1 - part / whole)) / 100;
