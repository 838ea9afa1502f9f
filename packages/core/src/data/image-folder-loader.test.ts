import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { DATASETS, readImageFolder } from '@rethink-prune/datasets';
import * as jpeg from 'jpeg-js';
import { describe, expect, it } from 'vitest';
import { ImageFolderLoader } from './image-folder-loader';

function writeJpeg(file: string, width: number, height: number, rgb: [number, number, number]): void {
  const data = Buffer.alloc(width * height * 4);
  for (let i = 0; i < width * height; i++) data.set([...rgb, 255], i * 4);
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, jpeg.encode({ data, width, height }, 95).data);
}

describe('ImageFolderLoader', () => {
  it('makes normalised 224×224 batches with folder labels; val is deterministic, training draws differ by epoch', () => {
    const root = fs.mkdtempSync(path.join(os.tmpdir(), 'ifl-'));
    writeJpeg(path.join(root, 'train', 'n01', 'a.JPEG'), 300, 250, [255, 0, 0]);
    writeJpeg(path.join(root, 'train', 'n02', 'b.JPEG'), 280, 320, [0, 0, 255]);
    writeJpeg(path.join(root, 'train', 'n02', 'c.JPEG'), 256, 256, [0, 255, 0]);
    const folder = readImageFolder(root, 'train');
    const val = new ImageFolderLoader(folder, DATASETS.imagenet, { batchSize: 2, train: false, seed: 0 });
    const batches = [...val.epoch(0)];
    expect(batches.map((b) => [b.size, Array.from(b.y)])).toEqual([[2, [0, 1]], [1, [1]]]);
    expect(batches[0].x.length).toBe(2 * 224 * 224 * 3);
    // A flat red image: every pixel normalises to ((1-0.485)/0.229, (0-0.456)/0.224, (0-0.406)/0.225), within JPEG error.
    expect(batches[0].x[0]).toBeCloseTo((1 - 0.485) / 0.229, 1);
    expect(batches[0].x[1]).toBeCloseTo(-0.456 / 0.224, 1);
    const train = new ImageFolderLoader(folder, DATASETS.imagenet, { batchSize: 3, train: true, seed: 1 });
    const labels = (e: number) => Array.from([...train.epoch(e)][0].y);
    expect(labels(0).sort()).toEqual([0, 1, 1]);
    expect([0, 1, 2, 3, 4].map((e) => labels(e).join('')).some((l, _, all) => l !== all[0])).toBe(true);
  });
});
