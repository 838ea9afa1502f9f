/**
 * A run's metrics: `metrics.jsonl` in its directory, one JSON line per epoch. A checkpoint owns the file's first
 * lines (its `metricsLines`); what came after it is another attempt's and is cut on resume.
 */
import * as fs from 'fs';
import * as path from 'path';
import { RunDirError } from '../errors';
import { writeFileAtomic } from '../fs-atomic';

export const METRICS_FILE = 'metrics.jsonl';

/** One epoch's line (what the loop writes; lines written before a field existed lack it). */
export interface EpochMetrics {
  epoch: number;
  lr: number;
  trainLoss: number | null;
  trainTop1: number | null;
  testTop1: number;
  testTop5: number;
  testLoss: number;
  seconds: number;
  imagesPerSecond: number | null;
  backend?: string;
  threads?: number;
  nativeConv?: string;
}

export const metricsFile = (runDir: string) => path.join(runDir, METRICS_FILE);

/** The first `count` lines of a metrics file (fewer where it has fewer; none where it is missing), each ended. */
export function metricsHead(file: string, count: number): string {
  if (!fs.existsSync(file)) return '';
  const lines = fs.readFileSync(file, 'utf8').split('\n').filter((line) => line.length > 0);
  return lines.slice(0, count).map((line) => `${line}\n`).join('');
}

/**
 * The first `count` lines, which a checkpoint says the file has: a state kept or taken with fewer would leave a run
 * without the lines of the epochs it shares.
 */
export function metricsHeadOf(file: string, count: number): string {
  const head = metricsHead(file, count);
  const lines = head.split('\n').length - 1;
  if (lines < count) throw new RunDirError(file, `has ${lines} epochs' lines, its checkpoint ${count}`);
  return head;
}

/** Cuts a metrics file to its first `count` lines. */
export function keepMetricsHead(file: string, count: number): void {
  if (fs.existsSync(file)) writeFileAtomic(file, metricsHead(file, count));
}

export const appendEpochMetrics = (file: string, line: EpochMetrics) =>
  fs.appendFileSync(file, `${JSON.stringify(line)}\n`);

/**
 * The median of a run's epoch seconds (its lines, readEpochMetrics) after its first `skip` (a Scratch-B's shared epochs
 * were Scratch-E's): the upper of the two middle ones for an even count, an epoch that was measured. Null where it has
 * no such epoch.
 */
export function medianEpochSeconds(epochs: EpochMetrics[], skip = 0): number | null {
  const seconds = epochs.slice(skip).map((e) => e.seconds).sort((a, b) => a - b);
  return seconds.length > 0 ? seconds[Math.floor(seconds.length / 2)] : null;
}

/** Every epoch's line of a metrics file. */
export const readEpochMetrics = (file: string): EpochMetrics[] => metricsHead(file, Infinity)
  .split('\n').filter((line) => line.length > 0).map((line) => JSON.parse(line) as EpochMetrics);
