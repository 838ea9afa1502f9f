import * as tf from '@tensorflow/tfjs';
import { convAxis, mixSeed, mulberry32, permutation } from '@rethink-prune/core';
import { CholeskyDecomposition, Matrix, pseudoInverse } from 'ml-matrix';
import {
  addLassoRows,
  type ChannelSelection,
  emptyLassoProblem,
  finishLassoProblem,
  type LassoProblem,
  mirrorUpperTriangle,
  selectChannelsOnGram,
  type SelectionOptions,
} from './lasso';

/**
 * Channel Pruning's per-layer numerics (He, Zhang, Sun, ICCV 2017; `yihui-he/channel-pruning`,
 * `lib/decompose.py` `dictionary`): sample input patches X and target outputs Y of one conv, select its input
 * channels by a LASSO on their contributions Z_i = X_i W_iᵀ, and refit the kept weights by least squares.
 * Notation of the paper: N samples, c input channels, n output channels, window = kh·kw.
 */

export class RegressionInputError extends Error {
  constructor(field: string, problem: string, fix: string) {
    super(`method-regression/src/regression.ts: ${field} ${problem}; ${fix}`);
    this.name = 'RegressionInputError';
  }
}

export interface PatchOptions {
  stride: number;
  padding: 'same' | 'valid';
  /** N: how many random (image, output position) pairs to draw. */
  samples: number;
  seed: number;
}

export interface SampledPatches {
  /** N × (c·window) row-major; a row holds channel 0's kh×kw window (row by row), then channel 1's, … */
  patches: Float32Array;
  /** N × n row-major: the target at each sampled (image, position). */
  outputs: Float32Array;
  /** N × 3 row-major: (image, output row, output column) of each sample. */
  locations: Int32Array;
  sampleCount: number;
  channels: number;
  window: number;
  outChannels: number;
  kernelHeight: number;
  kernelWidth: number;
}

function checkPositiveInteger(field: string, value: number): void {
  if (!Number.isInteger(value) || value < 1) {
    throw new RegressionInputError(field, `is ${value}`, 'pass a positive integer');
  }
}

/**
 * Draws N (image, output position) pairs uniformly with replacement (the authors draw 10 positions in each
 * of 5 000 images) and copies the input window each reads (zeros outside, as 'same' pads) and the target.
 * `input` is what the layer reads (from the already-pruned model); `target` is the original model's output
 * of this layer before its bias; `kernel` ([kh, kw, c, n]) only fixes the window and channel counts.
 */
export function samplePatches(
  input: tf.Tensor4D,
  kernel: tf.Tensor4D,
  target: tf.Tensor4D,
  options: PatchOptions,
): SampledPatches {
  const [images, height, width, channels] = input.shape;
  const [kernelHeight, kernelWidth, kernelInChannels, outChannels] = kernel.shape;
  if (kernelInChannels !== channels) {
    const detail = `is ${kernelInChannels} but the input has ${channels} channels`;
    throw new RegressionInputError('kernel.shape[2]', detail, 'pass the kernel as [kh, kw, inC, outC]');
  }
  checkPositiveInteger('options.samples', options.samples);
  checkPositiveInteger('options.stride', options.stride);
  const rows = convAxis(height, kernelHeight, options.stride, options.padding);
  const cols = convAxis(width, kernelWidth, options.stride, options.padding);
  const expected = [images, rows.outSize, cols.outSize, outChannels];
  if (rows.outSize < 1 || cols.outSize < 1 || target.shape.some((size, axis) => size !== expected[axis])) {
    throw new RegressionInputError(
      'target.shape',
      `is [${target.shape}] but the conv (stride ${options.stride}, ${options.padding}) gives [${expected}]`,
      'pass the output of this layer for the same images, NHWC',
    );
  }
  const inputValues = input.dataSync();
  const targetValues = target.dataSync();
  const window = kernelHeight * kernelWidth;
  const rowLength = channels * window;
  const sampleCount = options.samples;
  const patches = new Float32Array(sampleCount * rowLength);
  const outputs = new Float32Array(sampleCount * outChannels);
  const locations = new Int32Array(sampleCount * 3);
  const random = mulberry32(options.seed);
  for (let s = 0; s < sampleCount; s++) {
    const image = Math.floor(random() * images);
    const outRow = Math.floor(random() * rows.outSize);
    const outCol = Math.floor(random() * cols.outSize);
    locations.set([image, outRow, outCol], s * 3);
    for (let ky = 0; ky < kernelHeight; ky++) {
      const inRow = outRow * options.stride - rows.padBefore + ky;
      if (inRow < 0 || inRow >= height) continue;
      for (let kx = 0; kx < kernelWidth; kx++) {
        const inCol = outCol * options.stride - cols.padBefore + kx;
        if (inCol < 0 || inCol >= width) continue;
        const inputBase = ((image * height + inRow) * width + inCol) * channels;
        const patchBase = s * rowLength + ky * kernelWidth + kx;
        for (let c = 0; c < channels; c++) patches[patchBase + c * window] = inputValues[inputBase + c];
      }
    }
    const targetBase = ((image * rows.outSize + outRow) * cols.outSize + outCol) * outChannels;
    outputs.set(targetValues.subarray(targetBase, targetBase + outChannels), s * outChannels);
  }
  const counts = { sampleCount, channels, window, outChannels, kernelHeight, kernelWidth };
  return { patches, outputs, locations, ...counts };
}

function kernelValuesOf(sampled: SampledPatches, kernel: tf.Tensor4D): Float32Array {
  const expected = [sampled.kernelHeight, sampled.kernelWidth, sampled.channels, sampled.outChannels];
  if (kernel.shape.some((size, axis) => size !== expected[axis])) {
    const detail = `is [${kernel.shape}] but the patches were sampled for [${expected}]`;
    throw new RegressionInputError('kernel.shape', detail, 'pass the kernel given to samplePatches');
  }
  return kernel.dataSync() as Float32Array;
}

/** block[o·c + i] = Σ_w X[s, i, w] · W[w, i, o]: sample s's n × c rows of Z. */
function contributionBlock(sampled: SampledPatches, kernel: Float32Array, s: number, block: Float64Array) {
  const { patches, channels, window, outChannels } = sampled;
  block.fill(0);
  for (let i = 0; i < channels; i++) {
    const patchBase = (s * channels + i) * window;
    for (let w = 0; w < window; w++) {
      const value = patches[patchBase + w];
      if (value === 0) continue;
      const kernelBase = (w * channels + i) * outChannels;
      for (let o = 0; o < outChannels; o++) block[o * channels + i] += value * kernel[kernelBase + o];
    }
  }
}

/**
 * Z: (N·n) × c row-major, row s·n + o, column i = X_i W_iᵀ, channel i's share of output o at sample s;
 * the matching y is `sampled.outputs` as it is (row s·n + o).
 */
export function channelContributions(sampled: SampledPatches, kernel: tf.Tensor4D) {
  const kernelValues = kernelValuesOf(sampled, kernel);
  const { sampleCount, channels, outChannels } = sampled;
  const values = new Float64Array(sampleCount * outChannels * channels);
  const block = new Float64Array(outChannels * channels);
  for (let s = 0; s < sampleCount; s++) {
    contributionBlock(sampled, kernelValues, s, block);
    values.set(block, s * outChannels * channels);
  }
  return { values, rows: sampleCount * outChannels, columns: channels };
}

/** The LASSO's Gram form over the given samples, one n × c block at a time (Z itself is never stored). */
export function contributionProblem(
  sampled: SampledPatches,
  kernel: tf.Tensor4D,
  sampleIndices: ArrayLike<number>,
): LassoProblem {
  const kernelValues = kernelValuesOf(sampled, kernel);
  const { channels, outChannels, outputs } = sampled;
  const problem = emptyLassoProblem(channels);
  const block = new Float64Array(outChannels * channels);
  for (let index = 0; index < sampleIndices.length; index++) {
    const s = sampleIndices[index];
    contributionBlock(sampled, kernelValues, s, block);
    addLassoRows(problem, block, outputs.subarray(s * outChannels, (s + 1) * outChannels), outChannels);
  }
  return finishLassoProblem(problem);
}

/** Pivots of XᵀX below this fraction of its largest diagonal mean X is (nearly) rank-deficient. */
const GRAM_RELATIVE_CUTOFF = 1e-10;

/**
 * Solves (XᵀX) W = XᵀY: Cholesky while XᵀX is well conditioned (an SVD of a (c′·kh·kw)² matrix is minutes in
 * JavaScript), else the minimum-norm pinv(XᵀX)·XᵀY, which equals pinv(X)·Y.
 */
function solveNormalEquations(gram: Float64Array, cross: Float64Array, size: number, outputs: number) {
  const gramMatrix = Matrix.from1DArray(size, size, gram);
  const crossMatrix = Matrix.from1DArray(size, outputs, cross);
  const cholesky = new CholeskyDecomposition(gramMatrix);
  const lower = cholesky.lowerTriangularMatrix;
  let largestDiagonal = 0;
  let smallestPivot = Infinity;
  for (let a = 0; a < size; a++) {
    largestDiagonal = Math.max(largestDiagonal, gram[a * size + a]);
    smallestPivot = Math.min(smallestPivot, lower.get(a, a) ** 2);
  }
  if (cholesky.isPositiveDefinite() && smallestPivot > GRAM_RELATIVE_CUTOFF * largestDiagonal) {
    return cholesky.solve(crossMatrix);
  }
  // ml-matrix scales its cutoff by max(rows, columns) · largest singular value.
  return pseudoInverse(gramMatrix, GRAM_RELATIVE_CUTOFF / size).mmul(crossMatrix);
}

function checkKept(kept: number[], channels: number): void {
  const ascending = kept.every((channel, a) => a === 0 || channel > kept[a - 1]);
  if (kept.length === 0 || !ascending || kept.some((k) => !Number.isInteger(k) || k < 0 || k >= channels)) {
    const fix = `pass distinct ascending channel indices from 0 to ${channels - 1}, at least one`;
    throw new RegressionInputError('kept', `is [${kept}]`, fix);
  }
}

export interface ReconstructedLayer {
  /** [kh, kw, kept.length, n] (tfjs layout) for the kept input channels. */
  kernel: Float32Array;
  kernelShape: [number, number, number, number];
  /** n new bias terms with `{ bias: true }`, else null. */
  bias: Float32Array | null;
}

/**
 * W′ = argmin ‖Y − X_kept W′ (− 1·bᵀ)‖² over all N samples. The authors fit scikit-learn
 * `LinearRegression` with an intercept, which becomes a new bias (`{ bias: true }`); the paper has none.
 */
export function reconstructWeights(
  sampled: SampledPatches,
  kept: number[],
  options: { bias?: boolean } = {},
): ReconstructedLayer {
  checkKept(kept, sampled.channels);
  const { patches, outputs, sampleCount, channels, window, outChannels } = sampled;
  const weightCount = kept.length * window;
  const size = weightCount + (options.bias ? 1 : 0);
  const gram = new Float64Array(size * size);
  const cross = new Float64Array(size * outChannels);
  const features = new Float64Array(size).fill(1);
  for (let s = 0; s < sampleCount; s++) {
    kept.forEach((channel, a) => {
      const patchBase = (s * channels + channel) * window;
      for (let w = 0; w < window; w++) features[a * window + w] = patches[patchBase + w];
    });
    for (let a = 0; a < size; a++) {
      const value = features[a];
      if (value === 0) continue;
      for (let b = a; b < size; b++) gram[a * size + b] += value * features[b];
      const crossBase = a * outChannels;
      const outputBase = s * outChannels;
      for (let o = 0; o < outChannels; o++) cross[crossBase + o] += value * outputs[outputBase + o];
    }
  }
  mirrorUpperTriangle(gram, size);
  const solution = solveNormalEquations(gram, cross, size, outChannels);
  const kernel = new Float32Array(weightCount * outChannels);
  for (let a = 0; a < kept.length; a++) {
    for (let w = 0; w < window; w++) {
      for (let o = 0; o < outChannels; o++) {
        kernel[(w * kept.length + a) * outChannels + o] = solution.get(a * window + w, o);
      }
    }
  }
  const bias = options.bias ? Float32Array.from(solution.getRow(weightCount)) : null;
  const kernelShape: ReconstructedLayer['kernelShape'] =
    [sampled.kernelHeight, sampled.kernelWidth, kept.length, outChannels];
  return { kernel, kernelShape, bias };
}

/** The [kh, kw, c, n] kernel's input-channel slices `kept`, as [kh, kw, kept.length, n]. */
export function keptKernelSlices(sampled: SampledPatches, kernel: tf.Tensor4D, kept: number[]): Float32Array {
  const kernelValues = kernelValuesOf(sampled, kernel);
  const { channels, window, outChannels } = sampled;
  const sliced = new Float32Array(window * kept.length * outChannels);
  for (let w = 0; w < window; w++) {
    kept.forEach((channel, a) => {
      const from = (w * channels + channel) * outChannels;
      sliced.set(kernelValues.subarray(from, from + outChannels), (w * kept.length + a) * outChannels);
    });
  }
  return sliced;
}

/** ‖Y − Ŷ‖² / ‖Y‖² over all samples with Ŷ = X_kept K (+ b); the plain squared error when Y = 0. */
export function relativeError(
  sampled: SampledPatches,
  kept: number[],
  keptKernel: Float32Array,
  bias: Float32Array | null = null,
): number {
  const { patches, outputs, sampleCount, channels, window, outChannels } = sampled;
  const predicted = new Float64Array(outChannels);
  let residualEnergy = 0;
  let targetEnergy = 0;
  for (let s = 0; s < sampleCount; s++) {
    predicted.fill(0);
    if (bias) predicted.set(bias);
    kept.forEach((channel, a) => {
      for (let w = 0; w < window; w++) {
        const value = patches[(s * channels + channel) * window + w];
        if (value === 0) continue;
        const kernelBase = (w * kept.length + a) * outChannels;
        for (let o = 0; o < outChannels; o++) predicted[o] += value * keptKernel[kernelBase + o];
      }
    });
    for (let o = 0; o < outChannels; o++) {
      const target = outputs[s * outChannels + o];
      residualEnergy += (target - predicted[o]) ** 2;
      targetEnergy += target * target;
    }
  }
  return targetEnergy > 0 ? residualEnergy / targetEnergy : residualEnergy;
}

export interface ChannelPruneOptions extends PatchOptions {
  /** c′: input channels to keep. */
  keepCount: number;
  /** Samples whose n rows each feed the LASSO; default min(400, N/20), the authors' choice. */
  lassoSamples?: number;
  /** Fit a new bias with the kept weights, as the authors' code does. */
  bias?: boolean;
  selection?: SelectionOptions;
}

export interface ChannelPruneResult extends ReconstructedLayer, ChannelSelection {
  /** Relative error of the kept channels with their original weights (before) and refitted (after). */
  error: { before: number; after: number };
}

/** Sampling, LASSO selection of `keepCount` input channels and the least-squares refit, for one conv. */
export function channelPrune(
  input: tf.Tensor4D,
  kernel: tf.Tensor4D,
  target: tf.Tensor4D,
  options: ChannelPruneOptions,
): ChannelPruneResult {
  const sampled = samplePatches(input, kernel, target, options);
  const authorsLassoSamples = Math.max(1, Math.min(400, Math.floor(sampled.sampleCount / 20)));
  const lassoSamples = options.lassoSamples ?? authorsLassoSamples;
  if (!Number.isInteger(lassoSamples) || lassoSamples < 1 || lassoSamples > sampled.sampleCount) {
    const fix = `pass an integer from 1 to options.samples = ${sampled.sampleCount}`;
    throw new RegressionInputError('options.lassoSamples', `is ${lassoSamples}`, fix);
  }
  // Without replacement (the authors draw with replacement; a repeat only re-weights a sample).
  const lassoIndices = permutation(sampled.sampleCount, mixSeed(options.seed, 1)).subarray(0, lassoSamples);
  const problem = contributionProblem(sampled, kernel, lassoIndices);
  const selection = selectChannelsOnGram(problem, options.keepCount, options.selection);
  const rebuilt = reconstructWeights(sampled, selection.kept, { bias: options.bias });
  const error = {
    before: relativeError(sampled, selection.kept, keptKernelSlices(sampled, kernel, selection.kept)),
    after: relativeError(sampled, selection.kept, rebuilt.kernel, rebuilt.bias),
  };
  return { ...selection, ...rebuilt, error };
}
