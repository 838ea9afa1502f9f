import * as fs from 'fs';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs';
import {
  DATASETS, loadImageSet, readImageFolder, type DatasetInfo, type DatasetName, type ImageFolder, type ImageSet,
} from '@rethink-prune/datasets';
import { ImageFolderLoader } from './image-folder-loader';
import { BatchLoader, type Batch, type LoaderOptions } from './loader';
import { PrefetchingLoader } from './prefetch';

/**
 * Where training images come from: splits held in memory (CIFAR, MNIST, Fashion-MNIST), or ImageNet-style
 * folders decoded on demand. The training loop and the pipeline take either.
 */
export type TrainingData =
  | { train: ImageSet; test: ImageSet; info: DatasetInfo }
  | { folders: { train: ImageFolder; test: ImageFolder }; info: DatasetInfo };

/** An epoch-addressable stream of batches: any epoch can start at any batch (exact resume). */
export interface BatchStream {
  readonly batchesPerEpoch: number;
  epoch(epoch: number, from?: number): Iterable<Batch> | AsyncIterable<Batch>;
  dispose?(): Promise<void>;
}

/** Number of images of a split, before any limit. */
export function splitSize(data: TrainingData, split: 'train' | 'test'): number {
  return 'folders' in data ? data.folders[split].items.length : data[split].count;
}

/** Training batches (shuffled, augmented); in-memory sets are prepared ahead in a worker. */
export function trainBatches(data: TrainingData, opts: Omit<LoaderOptions, 'train'>): BatchStream {
  return 'folders' in data
    ? new ImageFolderLoader(data.folders.train, data.info, { ...opts, train: true, size: data.info.height })
    : new PrefetchingLoader(data.train, data.info, { ...opts, train: true });
}

/**
 * Evaluation batches of the test split, in order, without augmentation: 256 images of 32×32, 32 of 224×224
 * (to bound memory).
 */
export function testBatches(data: TrainingData, opts: { limit?: number } = {}): { epoch(epoch: number): Iterable<Batch> } {
  const o = { ...opts, batchSize: data.info.height >= 128 ? 32 : 256, train: false, seed: 0 };
  return 'folders' in data
    ? new ImageFolderLoader(data.folders.test, data.info, { ...o, size: data.info.height })
    : new BatchLoader(data.test, data.info, o);
}

/**
 * `count` training images as training sees them (shuffled by `seed`, augmented, normalised), NHWC: what a
 * data-driven pruner samples activations on. The profile's `limit` applies, as in training.
 */
export async function trainingImages(
  data: TrainingData,
  count: number,
  opts: { seed: number; limit?: number },
): Promise<tf.Tensor4D> {
  const available = Math.min(count, opts.limit ?? Infinity, splitSize(data, 'train'));
  const stream = trainBatches(data, { batchSize: available, seed: opts.seed, limit: opts.limit });
  try {
    for await (const batch of stream.epoch(0)) {
      const { height, width, channels } = data.info;
      return tf.tensor4d(batch.x, [batch.size, height, width, channels]);
    }
    throw new Error('trainingImages: the training split gave no batch');
  } finally {
    await stream.dispose?.();
  }
}

/** ImageNet's root (holding train/ and val/): `<dataDir>/imagenet`, or the data directory itself. */
export function imagenetRoot(dataDir: string): string {
  const nested = path.join(dataDir, 'imagenet');
  return fs.existsSync(path.join(nested, 'train')) ? nested : dataDir;
}

/** A dataset's training and test data, named for result rows: ImageNet as folders, the rest in memory. */
export function loadTrainingData(dataset: DatasetName, dataDir: string): TrainingData & { info: DatasetInfo & { name: DatasetName } } {
  const info = { ...DATASETS[dataset], name: dataset };
  if (dataset === 'imagenet') {
    const root = imagenetRoot(dataDir);
    return { folders: { train: readImageFolder(root, 'train'), test: readImageFolder(root, 'val') }, info };
  }
  return { train: loadImageSet(dataset, 'train', { dataDir }), test: loadImageSet(dataset, 'test', { dataDir }), info };
}
