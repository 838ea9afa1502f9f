import {
  decodeJpeg, randomResizedCrop, resizeCenterCrop, type DatasetInfo, type ImageFolder, type RgbImage,
} from '@rethink-prune/datasets';
import { subsetIndices, type Batch, type LoaderOptions } from './loader';
import { mixSeed, mulberry32, permutation } from './rng';

/**
 * Batches of an ImageNet folder, decoded on demand: training uses the seed's RandomResizedCrop(224) +
 * horizontal flip, validation Resize(256) + CenterCrop(224); both normalise with the ImageNet mean/std.
 * Like BatchLoader, every draw is a function of (seed, epoch, position), so a batch can be made on its own.
 */
export class ImageFolderLoader {
  readonly count: number;
  readonly batchesPerEpoch: number;
  /** Items in use (all, or the fixed subset of `limit`). */
  private readonly indices: Uint32Array;

  constructor(private readonly folder: ImageFolder, private readonly info: Pick<DatasetInfo, 'mean' | 'std'>,
    private readonly opts: LoaderOptions & { size?: number }) {
    this.indices = subsetIndices(folder.items.length, opts.limit);
    this.count = this.indices.length;
    this.batchesPerEpoch = Math.ceil(this.count / opts.batchSize);
  }

  *epoch(epoch: number, from = 0): Generator<Batch> {
    const n = this.count;
    const order = this.opts.train ? permutation(n, mixSeed(this.opts.seed, epoch)) : undefined;
    const size = this.opts.size ?? 224;
    for (let b = from; b < this.batchesPerEpoch; b++) {
      const start = b * this.opts.batchSize;
      const count = Math.min(this.opts.batchSize, n - start);
      const x = new Float32Array(count * size * size * 3);
      const y = new Int32Array(count);
      for (let i = 0; i < count; i++) {
        const item = this.folder.items[this.indices[order ? order[start + i] : start + i]];
        y[i] = item.label;
        const img = decodeJpeg(item.file);
        const out: RgbImage = this.opts.train
          ? randomResizedCrop(img, mulberry32(mixSeed(this.opts.seed, epoch, start + i, 0x1a6)), size)
          : resizeCenterCrop(img, Math.round((size * 256) / 224), size);
        const base = i * size * size * 3;
        for (let p = 0; p < size * size * 3; p++) {
          const c = p % 3;
          x[base + p] = (out.data[p] / 255 - this.info.mean[c]) / this.info.std[c];
        }
      }
      yield { x, y, size: count, index: b };
    }
  }
}
