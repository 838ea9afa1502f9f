import * as fs from 'fs';
import * as path from 'path';
import { Worker } from 'worker_threads';
import type { DatasetInfo, ImageSet } from '@rethink-prune/datasets';
import { BatchLoader, type Batch, type LoaderOptions } from './loader';

/**
 * Prepares training batches ahead of the training step, in a worker thread (`depth` batches in flight), so
 * augmentation overlaps the step. Yields exactly the batches of BatchLoader, in order. Where a worker
 * cannot start, batches are made on the main thread.
 */
export class PrefetchingLoader {
  readonly batchesPerEpoch: number;
  private worker?: Worker;
  private requests = 0;
  private readonly local: BatchLoader;

  constructor(set: ImageSet, info: Pick<DatasetInfo, 'mean' | 'std' | 'augment'>, opts: LoaderOptions, private readonly depth = 3) {
    this.local = new BatchLoader(set, info, opts);
    this.batchesPerEpoch = this.local.batchesPerEpoch;
    const js = path.join(__dirname, 'prefetch-worker.js');
    const ts = path.join(__dirname, 'prefetch-worker.ts');
    const file = fs.existsSync(js) ? js : ts;
    try {
      this.worker = new Worker(file, {
        workerData: { set, info, opts, depth },
        // Under the TypeScript sources (tests), the worker needs ts-node like its parent.
        execArgv: file === ts ? ['-r', 'ts-node/register/transpile-only'] : [],
      });
      this.worker.unref();
    } catch {
      this.worker = undefined;
    }
  }

  async *epoch(epoch: number, from = 0): AsyncGenerator<Batch> {
    const worker = this.worker;
    if (!worker) {
      yield* this.local.epoch(epoch, from);
      return;
    }
    const queue: Batch[] = [];
    let done = false;
    let failure: Error | undefined;
    let wake: (() => void) | undefined;
    const request = ++this.requests;
    const onMessage = (m: { request: number; done?: boolean; batch?: Batch }) => {
      if (m.request !== request) return; // a batch of an epoch abandoned earlier
      if (m.done) done = true;
      else if (m.batch) queue.push({ ...m.batch, x: new Float32Array(m.batch.x.buffer), y: new Int32Array(m.batch.y.buffer) });
      wake?.();
    };
    const onError = (e: Error) => { failure = e; wake?.(); };
    worker.on('message', onMessage);
    worker.on('error', onError);
    worker.postMessage({ type: 'epoch', request, epoch, from });
    try {
      for (;;) {
        while (queue.length === 0 && !done && !failure) await new Promise<void>((r) => { wake = r; });
        if (failure) throw failure;
        const b = queue.shift();
        if (!b) return;
        worker.postMessage({ type: 'ack' });
        yield b;
      }
    } finally {
      worker.off('message', onMessage);
      worker.off('error', onError);
    }
  }

  async dispose(): Promise<void> {
    await this.worker?.terminate();
    this.worker = undefined;
  }
}
