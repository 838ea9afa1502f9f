import * as path from 'path';
import type { EnqueueRequest, EnqueueSummary } from '@rethink-prune/core';
import { FlowProducer, Queue, type FlowJob } from 'bullmq';
import { checkedConnection } from './connection';
import { gridFlow, gridJobs, gridResults, QUEUE_NAME } from './grid-jobs';

/** How long a failed stage waits before its next try, unless told. */
export const RETRY_DELAY_MS = 10_000;

/**
 * Puts a grid on the queue as one BullMQ flow (see gridFlow). Jobs already on the queue under the same ids (the same
 * grid enqueued before: waiting, running, done or failed) are not added again.
 */
export async function enqueueGrid(request: EnqueueRequest & { backoffMs?: number }): Promise<EnqueueSummary> {
  const runDir = path.normalize(request.grid.runDir);
  if (path.isAbsolute(runDir) || runDir.startsWith('..')) {
    throw new Error(`--run-dir ${request.grid.runDir}: with --queue it must be relative: ` +
      "it is taken under each worker's --run-dir");
  }
  const connection = await checkedConnection(request.url);
  const grid = { ...request.grid, runDir, fresh: request.grid.fresh ?? false };
  const jobs = gridJobs(request.method, request.methodPackage, grid);
  const queue = new Queue(QUEUE_NAME, { connection });
  const flows = new FlowProducer({ connection });
  try {
    const states = await Promise.all(jobs.map((j) => queue.getJobState(j.id)));
    const queued = new Set(jobs.filter((_, i) => states[i] !== 'unknown').map((j) => j.id));
    const flow = gridFlow(jobs, queued, { attempts: request.attempts, backoffMs: request.backoffMs ?? RETRY_DELAY_MS });
    if (flow) await flows.add(flow);
    const count = (f?: FlowJob): number => (f ? 1 + (f.children ?? []).reduce((n, c) => n + count(c), 0) : 0);
    return {
      added: count(flow),
      existing: queued.size,
      failed: jobs.filter((_, i) => states[i] === 'failed').map((j) => j.data.label),
      results: gridResults(grid),
    };
  } finally {
    await Promise.all([flows.close(), queue.close()]);
  }
}
