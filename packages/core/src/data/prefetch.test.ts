import type { ImageSet } from '@rethink-prune/datasets';
import { describe, expect, it } from 'vitest';
import { BatchLoader } from './loader';
import { PrefetchingLoader } from './prefetch';

function set(count: number): ImageSet {
  const images = Uint8Array.from({ length: count * 8 * 8 * 3 }, (_, i) => (i * 37) % 256);
  return { images, labels: Uint8Array.from({ length: count }, (_, i) => i % 10), count, height: 8, width: 8, channels: 3, classes: 10 };
}
const INFO = { mean: [0.5, 0.5, 0.5], std: [0.25, 0.25, 0.25], augment: { pad: 2, flip: true } };

describe('PrefetchingLoader', () => {
  it('yields exactly the batches of BatchLoader, in order, from a worker thread; resumes mid-epoch', async () => {
    const s = set(50);
    const opts = { batchSize: 8, train: true, seed: 4 };
    const ahead = new PrefetchingLoader(s, INFO, opts, 2);
    const plain = new BatchLoader(s, INFO, opts);
    try {
      for (const [epoch, from] of [[0, 0], [3, 0], [3, 4]]) {
        const got = [];
        for await (const b of ahead.epoch(epoch, from)) got.push(b);
        const want = [...plain.epoch(epoch, from)];
        expect(got.map((b) => b.index)).toEqual(want.map((b) => b.index));
        got.forEach((b, i) => {
          expect(Array.from(b.y)).toEqual(Array.from(want[i].y));
          expect(Array.from(b.x)).toEqual(Array.from(want[i].x));
        });
      }
    } finally {
      await ahead.dispose();
    }
  });
});
