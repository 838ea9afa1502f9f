import type { EnqueueRequest, EnqueueSummary } from '@rethink-prune/core';
import { FlowProducer, Queue } from 'bullmq';
import { checkedConnection } from './connection';
import { gridFlow, gridJobs, gridResults, QUEUE_NAME } from './grid-jobs';

/** How long a failed stage waits before its next try, unless told. */
export const RETRY_DELAY_MS = 10_000;

/**
 * Puts a grid on the queue as one BullMQ flow (see gridFlow). Jobs already on the queue under the same ids (the same
 * grid enqueued before: waiting, running, done or failed) are not added again.
 */
export async function enqueueGrid(request: EnqueueRequest & { backoffMs?: number }): Promise<EnqueueSummary> {
  const connection = await checkedConnection(request.url);
  const grid = { ...request.grid, fresh: request.grid.fresh ?? false };
  const jobs = gridJobs(request.method, request.methodPackage, grid);
  const queue = new Queue(QUEUE_NAME, { connection });
  const flows = new FlowProducer({ connection });
  try {
    const states = await Promise.all(jobs.map((j) => queue.getJobState(j.id)));
    const queued = new Set(jobs.filter((_, i) => states[i] !== 'unknown').map((j) => j.id));
    const flow = gridFlow(jobs, queued, { attempts: request.attempts, backoffMs: request.backoffMs ?? RETRY_DELAY_MS });
    if (flow) await flows.add(flow);
    return {
      added: jobs.length - queued.size,
      existing: queued.size,
      failed: jobs.filter((_, i) => states[i] === 'failed').map((j) => j.data.label),
      results: gridResults(grid),
    };
  } finally {
    await Promise.all([flows.close(), queue.close()]);
  }
}
