import type { DatasetInfo, ImageSet } from '@rethink-prune/datasets';
import { mixSeed, mulberry32, permutation } from './rng';

const SUBSET_SEED = 0x5eed;

/**
 * The images a loader uses: all `count`, or a fixed random subset of `limit` (the same for every run and seed,
 * so that sets stored by class still give every class), in base order.
 */
export function subsetIndices(count: number, limit?: number): Uint32Array {
  const n = Math.min(count, limit ?? count);
  return n < count ? Uint32Array.from(permutation(count, SUBSET_SEED).subarray(0, n)).sort() : Uint32Array.from({ length: count }, (_, i) => i);
}

/** One batch, ready to become tensors: normalised NHWC floats and integer labels. */
export interface Batch {
  x: Float32Array;
  y: Int32Array;
  size: number;
  /** Position of the batch in its epoch. */
  index: number;
}

export interface LoaderOptions {
  batchSize: number;
  /** Shuffle and augment (training); otherwise the set's order, no augmentation. */
  train: boolean;
  seed: number;
  /**
   * Use only `limit` images (profiles `quick`/`smoke`): a fixed random subset, the same for every run and
   * seed, so that sets stored by class still give every class.
   */
  limit?: number;
}

/**
 * Batches of a set held in memory, with the seed repository's CIFAR augmentation: zero-pad by `pad`, random
 * crop back to size, random horizontal flip, then per-channel normalisation. Each image's crop and flip is
 * drawn from (seed, epoch, position), so any batch of any epoch can be produced on its own (exact resume).
 */
export class BatchLoader {
  readonly count: number;
  readonly batchesPerEpoch: number;
  private readonly lut: Float32Array[];
  /** Image indices in use (all, or the fixed subset), in their base order. */
  private readonly indices: Uint32Array;

  constructor(private readonly set: ImageSet, private readonly info: Pick<DatasetInfo, 'mean' | 'std' | 'augment'>,
    private readonly opts: LoaderOptions) {
    if (!Number.isInteger(opts.batchSize) || opts.batchSize < 1) throw new Error(`batch size ${opts.batchSize} must be a positive integer`);
    if (info.mean.length !== set.channels) throw new Error(`normalisation has ${info.mean.length} channels, images have ${set.channels}`);
    this.indices = subsetIndices(set.count, opts.limit);
    this.count = this.indices.length;
    this.batchesPerEpoch = Math.ceil(this.count / opts.batchSize);
    // value → normalised float, per channel; the padding value 0 maps to -mean/std as in PyTorch.
    this.lut = info.mean.map((m, c) => Float32Array.from({ length: 256 }, (_, v) => (v / 255 - m) / info.std[c]));
  }

  /** Batches of `epoch`, starting at batch `from`. */
  *epoch(epoch: number, from = 0): Generator<Batch> {
    const order = this.opts.train ? permutation(this.count, mixSeed(this.opts.seed, epoch)) : undefined;
    for (let b = from; b < this.batchesPerEpoch; b++) yield this.batch(epoch, b, order);
  }

  private batch(epoch: number, b: number, order: Uint32Array | undefined): Batch {
    const { height: h, width: w, channels: c } = this.set;
    const start = b * this.opts.batchSize;
    const size = Math.min(this.opts.batchSize, this.count - start);
    const px = h * w * c;
    const x = new Float32Array(size * px);
    const y = new Int32Array(size);
    const pad = this.opts.train ? this.info.augment.pad : 0;
    for (let i = 0; i < size; i++) {
      const src = this.indices[order ? order[start + i] : start + i];
      y[i] = this.set.labels[src];
      let dx = 0;
      let dy = 0;
      let flip = false;
      if (this.opts.train) {
        const rand = mulberry32(mixSeed(this.opts.seed, epoch, start + i, 0xa11));
        dy = Math.floor(rand() * (2 * pad + 1)) - pad;
        dx = Math.floor(rand() * (2 * pad + 1)) - pad;
        flip = this.info.augment.flip && rand() < 0.5;
      }
      this.writeImage(this.set.images.subarray(src * px, (src + 1) * px), x.subarray(i * px, (i + 1) * px), dx, dy, flip);
    }
    return { x, y, size, index: b };
  }

  /** out(r, q) = in(r + dy, q' + dx) with q' = flipped q, zero outside the image. */
  private writeImage(img: Uint8Array, out: Float32Array, dx: number, dy: number, flip: boolean): void {
    const { height: h, width: w, channels: c } = this.set;
    const zero = this.lut.map((l) => l[0]);
    for (let r = 0; r < h; r++) {
      const sr = r + dy;
      for (let q = 0; q < w; q++) {
        const sq = (flip ? w - 1 - q : q) + dx;
        const o = (r * w + q) * c;
        if (sr < 0 || sr >= h || sq < 0 || sq >= w) {
          for (let k = 0; k < c; k++) out[o + k] = zero[k];
        } else {
          const s = (sr * w + sq) * c;
          for (let k = 0; k < c; k++) out[o + k] = this.lut[k][img[s + k]];
        }
      }
    }
  }
}
