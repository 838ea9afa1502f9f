import { parentPort, workerData } from 'worker_threads';
import type { DatasetInfo, ImageSet } from '@rethink-prune/datasets';
import { BatchLoader, type Batch, type LoaderOptions } from './loader';

/** Runs a BatchLoader off the main thread: see prefetch.ts. */
interface Init { set: ImageSet; info: Pick<DatasetInfo, 'mean' | 'std' | 'augment'>; opts: LoaderOptions; depth: number }
const { set, info, opts, depth } = workerData as Init;
const loader = new BatchLoader(set, info, opts);
let credit = depth;
let pending: Generator<Batch> | undefined;
let current = -1;

function pump(): void {
  while (pending && credit > 0) {
    const next = pending.next();
    if (next.done) {
      parentPort!.postMessage({ request: current, done: true });
      pending = undefined;
      return;
    }
    credit--;
    const b = next.value;
    parentPort!.postMessage({ request: current, batch: b }, [b.x.buffer as ArrayBuffer, b.y.buffer as ArrayBuffer]);
  }
}

parentPort!.on('message', (m: { type: 'epoch'; request: number; epoch: number; from: number } | { type: 'ack' }) => {
  if (m.type === 'epoch') {
    current = m.request;
    credit = depth;
    pending = loader.epoch(m.epoch, m.from);
  } else {
    credit++;
  }
  pump();
});
