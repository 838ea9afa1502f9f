import * as tf from '@tensorflow/tfjs';
import { convAxis, mulberry32 } from '@rethink-prune/core';
import { Matrix, pseudoInverse } from 'ml-matrix';

/**
 * ThiNet's numerics (Luo, Wu, Lin, ICCV 2017; `Roll920/ThiNet_Code`, `ThiNet_ICCV/compress_model.py`):
 * sample the next layer's input contributions, greedily remove the channels whose summed contribution is
 * smallest (`value_sum`), then rescale the kept input slices of the next layer by least squares.
 */

export class ThinetInputError extends Error {
  constructor(field: string, problem: string, fix: string) {
    super(`method-thinet/src/thinet.ts: ${field} ${problem}; ${fix}`);
    this.name = 'ThinetInputError';
  }
}

export interface SampleOptions {
  stride: number;
  padding: 'same' | 'valid';
  /** How many (image, output channel, output position) triples of layer i+1 to draw. */
  samples: number;
  seed: number;
}

export interface SampledContributions {
  /** m × C row-major: x̂_{s,k}, input channel k's share of layer i+1's output at sample s. */
  contributions: Float32Array;
  /** m: ŷ_s = Σ_k x̂_{s,k}, layer i+1's output at the sample without its bias. */
  targets: Float32Array;
  /** m × 4 row-major: (image, output channel, output row, output column) of each sample. */
  locations: Int32Array;
  m: number;
  channels: number;
}

/**
 * Draws `samples` random (image, output channel c, output position) of layer i+1 and, per input channel k,
 * x̂_k = Σ over the kh×kw window of W[·,·,k,c] ⊙ input_k (zeros outside the input, as 'same' pads).
 * `activation` is layer i's output as layer i+1 sees it (after ReLU, and after pooling where there is one).
 */
export function sampleContributions(
  activation: tf.Tensor4D,
  nextKernel: tf.Tensor4D,
  options: SampleOptions,
): SampledContributions {
  const [images, height, width, channels] = activation.shape;
  const [kernelHeight, kernelWidth, kernelInChannels, outChannels] = nextKernel.shape;
  if (kernelInChannels !== channels) {
    throw new ThinetInputError(
      'nextKernel.shape[2]',
      `is ${kernelInChannels} but the activation has ${channels} channels`,
      "pass the kernel of the layer that reads this activation (kernels are [kh, kw, inC, outC])",
    );
  }
  if (!Number.isInteger(options.samples) || options.samples < 1) {
    throw new ThinetInputError('options.samples', `is ${options.samples}`, 'pass a positive integer');
  }
  if (!Number.isInteger(options.stride) || options.stride < 1) {
    throw new ThinetInputError('options.stride', `is ${options.stride}`, 'pass a positive integer');
  }
  const rows = convAxis(height, kernelHeight, options.stride, options.padding);
  const cols = convAxis(width, kernelWidth, options.stride, options.padding);
  if (rows.outSize < 1 || cols.outSize < 1) {
    throw new ThinetInputError(
      'activation.shape',
      `[${activation.shape}] is smaller than the ${kernelHeight}×${kernelWidth} kernel under 'valid'`,
      "use 'same' padding or a larger activation",
    );
  }
  const input = activation.dataSync();
  const kernel = nextKernel.dataSync();
  const m = options.samples;
  const contributions = new Float32Array(m * channels);
  const targets = new Float32Array(m);
  const locations = new Int32Array(m * 4);
  const shares = new Float64Array(channels);
  const random = mulberry32(options.seed);
  for (let s = 0; s < m; s++) {
    const image = Math.floor(random() * images);
    const outChannel = Math.floor(random() * outChannels);
    const outRow = Math.floor(random() * rows.outSize);
    const outCol = Math.floor(random() * cols.outSize);
    locations.set([image, outChannel, outRow, outCol], s * 4);
    shares.fill(0);
    for (let ky = 0; ky < kernelHeight; ky++) {
      const inRow = outRow * options.stride - rows.padBefore + ky;
      if (inRow < 0 || inRow >= height) continue;
      for (let kx = 0; kx < kernelWidth; kx++) {
        const inCol = outCol * options.stride - cols.padBefore + kx;
        if (inCol < 0 || inCol >= width) continue;
        const inputBase = ((image * height + inRow) * width + inCol) * channels;
        const kernelBase = (ky * kernelWidth + kx) * channels * outChannels + outChannel;
        for (let k = 0; k < channels; k++) {
          shares[k] += kernel[kernelBase + k * outChannels] * input[inputBase + k];
        }
      }
    }
    let target = 0;
    for (let k = 0; k < channels; k++) {
      contributions[s * channels + k] = shares[k];
      target += shares[k];
    }
    targets[s] = target;
  }
  return { contributions, targets, locations, m, channels };
}

function checkMatrixSize(contributions: Float32Array, m: number, channels: number): void {
  if (contributions.length !== m * channels) {
    throw new ThinetInputError(
      'contributions.length',
      `is ${contributions.length}, not m × channels = ${m} × ${channels}`,
      'pass the m and channels returned by sampleContributions',
    );
  }
}

/**
 * The ICCV rule (`value_sum`): starting from T = ∅, repeatedly add the channel j ∉ T that minimizes
 * Σ_s (Σ_{t∈T∪{j}} x̂_{s,t})². Returns the removed channels in the order removed; ties go to the lower index.
 */
export function greedyRemoval(
  contributions: Float32Array,
  m: number,
  channels: number,
  removeCount: number,
): number[] {
  checkMatrixSize(contributions, m, channels);
  if (!Number.isInteger(removeCount) || removeCount < 0 || removeCount > channels) {
    throw new ThinetInputError('removeCount', `is ${removeCount}`, `pass an integer from 0 to ${channels}`);
  }
  // Running sum of the removed channels per sample, so one step costs O(m·C).
  const removedSum = new Float64Array(m);
  const isRemoved = new Uint8Array(channels);
  const costs = new Float64Array(channels);
  const removed: number[] = [];
  for (let step = 0; step < removeCount; step++) {
    costs.fill(0);
    for (let s = 0; s < m; s++) {
      const rowBase = s * channels;
      for (let j = 0; j < channels; j++) {
        const sum = removedSum[s] + contributions[rowBase + j];
        costs[j] += sum * sum;
      }
    }
    let best = -1;
    for (let j = 0; j < channels; j++) {
      if (!isRemoved[j] && (best < 0 || costs[j] < costs[best])) best = j;
    }
    isRemoved[best] = 1;
    removed.push(best);
    for (let s = 0; s < m; s++) removedSum[s] += contributions[s * channels + best];
  }
  return removed;
}

/**
 * Singular values of XᵀX below this fraction of the largest count as zero: exact copies among the kept
 * channels then get the minimum-norm split of their common scale instead of an overflow.
 */
const GRAM_RELATIVE_CUTOFF = 1e-10;

/**
 * ŵ = argmin ‖ŷ − X_S ŵ‖² over the kept columns S, as the minimum-norm solution pinv(X_SᵀX_S)·X_Sᵀŷ (the
 * TPAMI code's form; the ICCV code inverts X_SᵀX_S, which fails when two kept channels are copies).
 * The Gram matrix is |S|×|S|, so memory and the SVD do not grow with m.
 */
export function leastSquaresScales(
  contributions: Float32Array,
  targets: Float32Array,
  m: number,
  channels: number,
  kept: number[],
): Float32Array {
  checkMatrixSize(contributions, m, channels);
  if (targets.length !== m) {
    const problem = `is ${targets.length}, not m = ${m}`;
    throw new ThinetInputError('targets.length', problem, 'pass one target per sample');
  }
  for (const k of kept) {
    if (!Number.isInteger(k) || k < 0 || k >= channels) {
      throw new ThinetInputError('kept', `holds ${k}`, `pass channel indices from 0 to ${channels - 1}`);
    }
  }
  const size = kept.length;
  if (size === 0) return new Float32Array(0);
  const gram = new Float64Array(size * size);
  const projection = new Float64Array(size);
  const row = new Float64Array(size);
  for (let s = 0; s < m; s++) {
    for (let a = 0; a < size; a++) row[a] = contributions[s * channels + kept[a]];
    for (let a = 0; a < size; a++) {
      projection[a] += row[a] * targets[s];
      for (let b = a; b < size; b++) gram[a * size + b] += row[a] * row[b];
    }
  }
  for (let a = 0; a < size; a++) {
    for (let b = 0; b < a; b++) gram[a * size + b] = gram[b * size + a];
  }
  // ml-matrix scales its cutoff by max(rows, columns) · largest singular value.
  const inverse = pseudoInverse(Matrix.from1DArray(size, size, gram), GRAM_RELATIVE_CUTOFF / size);
  const scales = inverse.mmul(Matrix.columnVector(Array.from(projection)));
  return Float32Array.from(scales.getColumn(0));
}

/** ‖ŷ − X_S w‖² / ‖ŷ‖²; the plain squared error when every target is zero, where a ratio means nothing. */
export function relativeReconstructionError(
  contributions: Float32Array,
  targets: Float32Array,
  m: number,
  channels: number,
  kept: number[],
  scales: ArrayLike<number>,
): number {
  let residualEnergy = 0;
  let targetEnergy = 0;
  for (let s = 0; s < m; s++) {
    let rebuilt = 0;
    for (let a = 0; a < kept.length; a++) rebuilt += scales[a] * contributions[s * channels + kept[a]];
    residualEnergy += (targets[s] - rebuilt) ** 2;
    targetEnergy += targets[s] ** 2;
  }
  return targetEnergy > 0 ? residualEnergy / targetEnergy : residualEnergy;
}

export interface ThinetSelection {
  /** Channels of layer i that stay, ascending. */
  kept: number[];
  /** Channels removed, in the order the greedy rule removed them. */
  removed: number[];
  /** Per kept channel: the factor for its input slice of layer i+1. */
  scales: Float32Array;
  /** Relative reconstruction error of the kept channels: unit scales (before), `scales` (after). */
  error: { before: number; after: number };
}

/** Greedy removal down to `keepCount` channels, then least-squares rescaling of the rest. */
export function thinetSelect(
  contributions: Float32Array,
  targets: Float32Array,
  m: number,
  channels: number,
  keepCount: number,
): ThinetSelection {
  if (!Number.isInteger(keepCount) || keepCount < 1 || keepCount > channels) {
    throw new ThinetInputError('keepCount', `is ${keepCount}`, `pass an integer from 1 to ${channels}`);
  }
  const removed = greedyRemoval(contributions, m, channels, channels - keepCount);
  const removedSet = new Set(removed);
  const kept = Array.from({ length: channels }, (_, k) => k).filter((k) => !removedSet.has(k));
  const scales = leastSquaresScales(contributions, targets, m, channels, kept);
  const unitScales = new Float64Array(kept.length).fill(1);
  const error = {
    before: relativeReconstructionError(contributions, targets, m, channels, kept, unitScales),
    after: relativeReconstructionError(contributions, targets, m, channels, kept, scales),
  };
  return { kept, removed, scales, error };
}
