import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { describe, expect, it } from 'vitest';
import { RunDirError } from '../errors';
import { keepMetricsHead, medianEpochSeconds, metricsHead, metricsHeadOf, readEpochMetrics } from './metrics-file';

const file = (text: string) => {
  const f = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'metrics-')), 'metrics.jsonl');
  fs.writeFileSync(f, text);
  return f;
};

describe('metrics file', () => {
  it('keeps the first lines, each ended, and never adds an empty one', () => {
    const f = file('{"epoch":1}\n{"epoch":2}\n{"epoch":3}\n');
    expect(metricsHead(f, 2)).toBe('{"epoch":1}\n{"epoch":2}\n');
    expect(metricsHead(f, 5)).toBe('{"epoch":1}\n{"epoch":2}\n{"epoch":3}\n');
    expect(metricsHead(file('{"epoch":1}'), 1)).toBe('{"epoch":1}\n');
    expect(metricsHead(path.join(os.tmpdir(), 'no-such-metrics.jsonl'), 3)).toBe('');
  });

  it('cuts a file to its head and reads its lines', () => {
    const f = file('{"epoch":1,"testTop1":10}\n{"epoch":2,"testTop1":20}\n{"epoch":3,"testTop1":30}\n');
    keepMetricsHead(f, 2);
    expect(fs.readFileSync(f, 'utf8')).toBe('{"epoch":1,"testTop1":10}\n{"epoch":2,"testTop1":20}\n');
    expect(readEpochMetrics(f).map((e) => e.testTop1)).toEqual([10, 20]);
  });

  it('refuses a head shorter than its checkpoint says, naming the file', () => {
    const f = file('{"epoch":1}\n{"epoch":2}\n');
    expect(metricsHeadOf(f, 2)).toBe('{"epoch":1}\n{"epoch":2}\n');
    expect(() => metricsHeadOf(f, 3)).toThrow(RunDirError);
    expect(() => metricsHeadOf(f, 3)).toThrow(`${f}: has 2 epochs' lines, its checkpoint 3`);
  });

  it('gives the median epoch after the skipped ones, the upper middle of an even count, null for none', () => {
    const f = file([900, 800, 40, 10, 30, 20].map((seconds, e) => JSON.stringify({ epoch: e + 1, seconds })).join('\n'));
    const epochs = readEpochMetrics(f);
    expect(medianEpochSeconds(epochs)).toBe(40); // 10 20 30 40 800 900: the upper middle
    expect(medianEpochSeconds(epochs, 2)).toBe(30); // 10 20 30 40
    expect(medianEpochSeconds(epochs, 3)).toBe(20); // 10 20 30
    expect(medianEpochSeconds(epochs, 6)).toBeNull();
  });
});
