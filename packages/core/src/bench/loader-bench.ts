import type { ImageSet } from '@rethink-prune/datasets';
import { DATASETS } from '@rethink-prune/datasets';
import { BatchLoader } from '../data/loader';

/**
 * Loader throughput (images/s, one worker = the main thread): CIFAR-shaped batches of 64 with the seed's
 * augmentation (pad 4, random crop, flip, normalise). Compared with the training step, it shows whether
 * the loader can be the bottleneck.
 */
export function loaderBench(seconds: number): string {
  const count = 10_000;
  const images = new Uint8Array(count * 32 * 32 * 3);
  for (let i = 0; i < images.length; i++) images[i] = (i * 2654435761) >>> 24;
  const set: ImageSet = {
    images, labels: new Uint8Array(count), count, height: 32, width: 32, channels: 3, classes: 10,
  };
  const loader = new BatchLoader(set, DATASETS.cifar10, { batchSize: 64, train: true, seed: 1 });
  let seen = 0;
  const start = process.hrtime.bigint();
  let epoch = 0;
  while (Number(process.hrtime.bigint() - start) / 1e9 < seconds) {
    for (const b of loader.epoch(epoch++)) {
      seen += b.size;
      if (Number(process.hrtime.bigint() - start) / 1e9 >= seconds) break;
    }
  }
  const rate = seen / (Number(process.hrtime.bigint() - start) / 1e9);
  return `loader cifar batch64 (augment): ${rate.toFixed(0)} img/s per worker`;
}
