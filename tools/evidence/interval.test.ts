import { describe, expect, it } from 'vitest';
import { pairedInterval, paperVerdict, t975, verdict } from './interval';

describe('the paired 95% interval', () => {
  it('uses Student t quantiles (scipy.stats.t.ppf(0.975, df): 12.706, 4.303, 2.776, 2.042) and 1.96 beyond 30', () => {
    expect([t975(1), t975(2), t975(4), t975(30), t975(200)]).toEqual([12.706, 4.303, 2.776, 2.042, 1.96]);
    expect(() => t975(0)).toThrow(/degrees of freedom 0/);
  });

  it('matches a hand computation for three seeds', () => {
    // differences 1, 2, 3: mean 2, s = 1, half-width 4.303 / √3 = 2.4843
    const interval = pairedInterval([1, 2, 3]);
    expect(interval.mean).toBe(2);
    expect(interval.low).toBeCloseTo(2 - 2.48434, 4);
    expect(interval.high).toBeCloseTo(2 + 2.48434, 4);
    expect(verdict(interval)).toBe('inconclusive');
  });

  it('gives a verdict only where the interval excludes zero', () => {
    expect(verdict(pairedInterval([1.0, 1.2, 1.1]))).toBe('scratch ≥ fine-tuned');
    expect(verdict(pairedInterval([-0.9, -1.1, -1.0]))).toBe('fine-tuned better');
    expect(verdict(pairedInterval([5]))).toBe('inconclusive'); // one seed: no interval
    expect(paperVerdict(93.6, 93.4)).toBe('scratch ≥ fine-tuned');
    expect(paperVerdict(93.3, 93.4)).toBe('fine-tuned better');
  });
});
