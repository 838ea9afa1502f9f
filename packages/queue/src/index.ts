export { checkedConnection, QueueConnectionError } from './connection';
export { enqueueGrid, RETRY_DELAY_MS } from './enqueue';
export { gridFlow, gridJobs, gridResults, QUEUE_NAME, type GridJob, type JobGrid, type QueueStage, type StageJobData } from './grid-jobs';
export { QueueUrlError, redactUrl, redisOptions } from './redis-url';
export { queueStatus, retryFailed, statusText, type QueueStatus } from './status';
export { startWorker, WORKER_ID, type StageProgress, type WorkerOptions } from './worker';
