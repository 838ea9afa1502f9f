import type { DatasetInfo, ImageSet } from '@rethink-prune/datasets';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initBackend, shutdownBackend } from '../backend';
import { BatchLoader } from './loader';
import { trainingImages } from './source';

beforeAll(async () => { await initBackend('cpu'); });
afterAll(() => shutdownBackend());

/** 3 images of 4×4×1 with distinct pixels: image k has pixel (r, q) = 50·k + 4·r + q. */
function handMade(): ImageSet {
  const images = Uint8Array.from({ length: 3 * 16 }, (_, i) => 50 * Math.floor(i / 16) + (i % 16));
  return { images, labels: Uint8Array.from([0, 1, 2]), count: 3, height: 4, width: 4, channels: 1, classes: 3 };
}

const INFO = { height: 4, width: 4, channels: 1, classes: 3, mean: [0.5], std: [0.5], augment: { pad: 1, flip: true } } as unknown as DatasetInfo;

describe('trainingImages (what a data-driven pruner samples on)', () => {
  it('gives the first training batch of the seed as an NHWC tensor, at most the split or the limit', async () => {
    const set = handMade();
    const data = { train: set, test: set, info: INFO };
    const images = await trainingImages(data, 10, { seed: 4 });
    expect(images.shape).toEqual([3, 4, 4, 1]);
    const [expected] = [...new BatchLoader(set, INFO, { batchSize: 3, train: true, seed: 4 }).epoch(0)];
    expect(Array.from(images.dataSync())).toEqual(Array.from(expected.x));
    images.dispose();
    const limited = await trainingImages(data, 10, { seed: 4, limit: 2 });
    expect(limited.shape).toEqual([2, 4, 4, 1]);
    limited.dispose();
  });
});
