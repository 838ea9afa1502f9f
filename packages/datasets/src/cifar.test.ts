import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { describe, expect, it } from 'vitest';
import { loadImageSet } from './catalog';
import { parseCifarBatch, readCifar } from './cifar';
import { DatasetFormatError } from './errors';
import { sharedDatasetsDir } from './shared-data';

function record(label: number, r: number, g: number, b: number, extra: number[] = []): number[] {
  return [...extra, label, ...new Array(1024).fill(r), ...new Array(1024).fill(g), ...new Array(1024).fill(b)];
}

describe('parseCifarBatch', () => {
  it('turns planar RGB records into NHWC pixels with their labels', () => {
    const bytes = Uint8Array.from([...record(3, 10, 20, 30), ...record(9, 1, 2, 3)]);
    const set = parseCifarBatch('cifar10', 'hand.bin', bytes);
    expect(set.count).toBe(2);
    expect([...set.labels]).toEqual([3, 9]);
    expect([...set.images.subarray(0, 6)]).toEqual([10, 20, 30, 10, 20, 30]);
    expect([...set.images.subarray(3072, 3075)]).toEqual([1, 2, 3]);
  });

  it('reads the fine label of CIFAR-100 records', () => {
    const set = parseCifarBatch('cifar100', 'hand.bin', Uint8Array.from(record(77, 0, 0, 0, [5])));
    expect([...set.labels]).toEqual([77]);
  });

  it('names the file and the problem for a truncated file', () => {
    const bytes = Uint8Array.from(record(1, 0, 0, 0)).subarray(0, 3000);
    expect(() => parseCifarBatch('cifar10', 'short.bin', bytes)).toThrow(DatasetFormatError);
    expect(() => parseCifarBatch('cifar10', 'short.bin', bytes)).toThrow(/short\.bin: 3000 bytes/);
  });

  it('rejects a label outside the class range', () => {
    expect(() => parseCifarBatch('cifar10', 'bad.bin', Uint8Array.from(record(10, 0, 0, 0)))).toThrow(/label 10/);
  });

  it('rejects a CIFAR-100 file read as CIFAR-10 (record size differs)', () => {
    const two = Uint8Array.from([...record(1, 0, 0, 0, [2]), ...record(1, 0, 0, 0, [2])]);
    expect(() => parseCifarBatch('cifar10', 'c100.bin', two)).toThrow(/not a whole number/);
  });

  it('names every missing file of a split', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cifar-'));
    expect(() => readCifar('cifar10', dir, 'train')).toThrow(/data_batch_1\.bin.*data_batch_5\.bin/);
  });
});

const shared = sharedDatasetsDir();
describe.skipIf(!shared)('real CIFAR subsets (shared/datasets)', () => {
  it('reads the balanced CIFAR-10 subset: 10 000 train, 2 000 test, 10 classes of equal size', () => {
    const train = readCifar('cifar10', path.join(shared!, 'cifar10-subset'), 'train');
    const test = readCifar('cifar10', path.join(shared!, 'cifar10-subset'), 'test');
    expect(train.count).toBe(10000);
    expect(test.count).toBe(2000);
    const perClass = new Array(10).fill(0);
    for (const l of test.labels) perClass[l]++;
    expect(perClass).toEqual(new Array(10).fill(200));
    // Real photographs: the channel means sit near CIFAR-10's (0.49, 0.48, 0.45).
    const mean = [0, 0, 0];
    for (let i = 0; i < train.images.length; i++) mean[i % 3] += train.images[i];
    for (const m of mean.map((v) => v / (train.count * 1024 * 255))) {
      expect(m).toBeGreaterThan(0.4);
      expect(m).toBeLessThan(0.55);
    }
  });

  it('loadImageSet takes a --data-dir that holds the .bin files themselves', () => {
    const test = loadImageSet('cifar10', 'test', { dataDir: path.join(shared!, 'cifar10-subset') });
    expect(test.count).toBe(2000);
    expect(() => loadImageSet('cifar10', 'test', { dataDir: shared! })).toThrow(/cifar-10-batches-bin.*missing test_batch\.bin/);
  });

  it('reads the CIFAR-100 flowers subset with fine labels 54, 62, 70, 82, 92', () => {
    const train = readCifar('cifar100', path.join(shared!, 'cifar100-flowers-subset'), 'train');
    expect(train.count).toBe(2500);
    expect([...new Set(train.labels)].sort((a, b) => a - b)).toEqual([54, 62, 70, 82, 92]);
  });
});
