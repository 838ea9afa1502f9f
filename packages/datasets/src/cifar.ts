import * as fs from 'fs';
import * as path from 'path';
import { DatasetFormatError } from './errors';
import { concatImageSets, type ImageSet } from './image-set';

/**
 * CIFAR-10 / CIFAR-100 in the official binary layout: each record is the label byte(s) and then 1024 R,
 * 1024 G and 1024 B bytes of a 32×32 image. CIFAR-100 records carry a coarse and a fine label (we use fine).
 */
export type CifarName = 'cifar10' | 'cifar100';
const PIXELS = 32 * 32;
const LABEL_BYTES: Record<CifarName, number> = { cifar10: 1, cifar100: 2 };
const CLASSES: Record<CifarName, number> = { cifar10: 10, cifar100: 100 };

/** Parses one binary batch file, validating its size and every label. */
export function parseCifarBatch(name: CifarName, file: string, bytes: Uint8Array): ImageSet {
  const labelBytes = LABEL_BYTES[name];
  const record = labelBytes + 3 * PIXELS;
  if (bytes.length === 0 || bytes.length % record !== 0) {
    throw new DatasetFormatError(file, `${bytes.length} bytes is not a whole number of ${name} records ` +
      `(${record} bytes each): the file is truncated or is not a ${name} binary batch`);
  }
  const count = bytes.length / record;
  const images = new Uint8Array(count * 3 * PIXELS);
  const labels = new Uint8Array(count);
  for (let i = 0; i < count; i++) {
    const base = i * record;
    if (name === 'cifar100' && bytes[base] >= 20) {
      throw new DatasetFormatError(file, `record ${i} has coarse label ${bytes[base]}; CIFAR-100 has 20`);
    }
    const label = bytes[base + labelBytes - 1];
    if (label >= CLASSES[name]) {
      throw new DatasetFormatError(file, `record ${i} has label ${label}; ${name} has ${CLASSES[name]} classes`);
    }
    labels[i] = label;
    const src = base + labelBytes;
    const dst = i * 3 * PIXELS;
    for (let p = 0; p < PIXELS; p++) {
      images[dst + 3 * p] = bytes[src + p];
      images[dst + 3 * p + 1] = bytes[src + PIXELS + p];
      images[dst + 3 * p + 2] = bytes[src + 2 * PIXELS + p];
    }
  }
  return { images, labels, count, height: 32, width: 32, channels: 3, classes: CLASSES[name] };
}

/** The file names of each split, as the official archives unpack them. */
export const CIFAR_FILES: Record<CifarName, { train: string[]; test: string[] }> = {
  cifar10: { train: [1, 2, 3, 4, 5].map((i) => `data_batch_${i}.bin`), test: ['test_batch.bin'] },
  cifar100: { train: ['train.bin'], test: ['test.bin'] },
};

/** Reads a split from a directory holding the binary files (e.g. `cifar-10-batches-bin/`). */
export function readCifar(name: CifarName, dir: string, split: 'train' | 'test'): ImageSet {
  const files = CIFAR_FILES[name][split].map((f) => path.join(dir, f));
  const missing = files.filter((f) => !fs.existsSync(f));
  if (missing.length > 0) {
    throw new DatasetFormatError(dir, `missing ${missing.map((f) => path.basename(f)).join(', ')} for the ${name} ${split} split`);
  }
  return concatImageSets(files.map((f) => parseCifarBatch(name, f, fs.readFileSync(f))));
}
