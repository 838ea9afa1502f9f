import { Queue, type Job } from 'bullmq';
import { checkedConnection } from './connection';
import { QUEUE_NAME, type StageJobData } from './grid-jobs';
import { redactUrl } from './redis-url';
import type { StageProgress } from './worker';

export interface QueueStatus {
  /** waiting: queued, delayed until prerequisites finish, or waiting for children; done: completed. */
  counts: { waiting: number; active: number; done: number; failed: number };
  running: Array<{ id: string; label: string; progress?: StageProgress; since?: number }>;
  failed: Array<{ id: string; label: string; reason: string; attempts: number; maxAttempts: number }>;
  /** The results every finished report stage wrote. */
  results: string[];
}

const labelOf = (job: Job<StageJobData>) => job.data?.label ?? job.name;

async function withQueue<T>(url: string, use: (queue: Queue) => Promise<T>): Promise<T> {
  const queue = new Queue(QUEUE_NAME, { connection: await checkedConnection(url) });
  try {
    return await use(queue);
  } finally {
    await queue.close();
  }
}

/** Stage counts, the running stages with their epoch, and the failed ones with their error. */
export function queueStatus(url: string): Promise<QueueStatus> {
  return withQueue(url, async (queue) => {
    const c = await queue.getJobCounts('wait', 'prioritized', 'delayed', 'waiting-children', 'paused', 'active',
      'completed', 'failed');
    const [active, failed, completed] = await Promise.all(
      [queue.getActive(), queue.getFailed(), queue.getCompleted()] as Array<Promise<Array<Job<StageJobData>>>>);
    return {
      counts: {
        waiting: c.wait + c.prioritized + c.delayed + c['waiting-children'] + c.paused,
        active: c.active,
        done: c.completed,
        failed: c.failed,
      },
      running: active.map((job) => ({
        id: job.id!, label: labelOf(job), since: job.processedOn,
        ...(typeof job.progress === 'object' ? { progress: job.progress as unknown as StageProgress } : {}),
      })),
      failed: failed.map((job) => ({
        id: job.id!, label: labelOf(job), reason: job.failedReason, attempts: job.attemptsMade,
        maxAttempts: job.opts.attempts ?? 1,
      })),
      results: completed.filter((job) => job.data?.stage === 'report')
        .map((job) => (job.returnvalue as { results: string }).results),
    };
  });
}

/** Moves every failed stage back to waiting; returns their labels. */
export function retryFailed(url: string): Promise<string[]> {
  return withQueue(url, async (queue) => {
    const failed = (await queue.getFailed()) as Array<Job<StageJobData>>;
    // With all its tries again: --attempts counts from here.
    await Promise.all(failed.map((job) => job.retry('failed', { resetAttemptsMade: true, resetAttemptsStarted: true })));
    return failed.map(labelOf);
  });
}

const seconds = (since?: number) => (since ? `${Math.round((Date.now() - since) / 1000)} s` : '?');

export function statusText(s: QueueStatus, url: string): string {
  const { waiting, active, done, failed } = s.counts;
  const lines = [`queue ${QUEUE_NAME} at ${redactUrl(url)}: ${waiting} waiting, ${active} active, ${done} done, ${failed} failed`];
  if (s.running.length > 0) lines.push('running:');
  for (const r of s.running) {
    const p = r.progress;
    const top1 = p?.top1 === undefined ? '' : `, test top-1 ${p.top1.toFixed(2)}%`;
    const where = p ? `epoch ${p.epoch}/${p.epochs}${top1} on ${p.worker}` : 'starting';
    lines.push(`  ${r.label}: ${where}, for ${seconds(r.since)}`);
  }
  if (s.failed.length > 0) lines.push('failed:');
  for (const f of s.failed) lines.push(`  ${f.label} (after ${f.attempts} of ${f.maxAttempts} tries): ${f.reason}`);
  if (s.failed.length > 0) lines.push(`  try them again: rethink-prune status --queue ${redactUrl(url)} --retry`);
  if (s.results.length > 0) lines.push('results (under the workers\' --run-dir):', ...s.results.map((r) => `  ${r}`));
  return `${lines.join('\n')}\n`;
}
