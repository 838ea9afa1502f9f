import { mulberry32 } from '@rethink-prune/core';
import { describe, expect, it } from 'vitest';
import {
  type DesignMatrix,
  lasso,
  LassoInputError,
  lassoOnGram,
  lassoProblem,
  selectChannels,
} from './lasso';

/** Column-major hand input → the row-major design the functions take. */
function fromColumns(columns: number[][]): DesignMatrix {
  const rows = columns[0].length;
  const values = new Float64Array(rows * columns.length);
  columns.forEach((column, j) => column.forEach((value, row) => (values[row * columns.length + j] = value)));
  return { values, rows, columns: columns.length };
}

/** Standard normal draws (Box–Muller) from a seed. */
function gaussians(count: number, seed: number): Float64Array {
  const random = mulberry32(seed);
  return Float64Array.from({ length: count }, () => {
    const radius = Math.sqrt(-2 * Math.log(1 - random()));
    return radius * Math.cos(2 * Math.PI * random());
  });
}

/** y = Zβ + noise·ε. */
function plantedTargets(design: DesignMatrix, beta: number[], noise: number, seed: number): Float64Array {
  const epsilon = gaussians(design.rows, seed);
  return Float64Array.from({ length: design.rows }, (_, row) => {
    let sum = noise * epsilon[row];
    beta.forEach((value, j) => (sum += value * design.values[row * design.columns + j]));
    return sum;
  });
}

function nonZeros(beta: ArrayLike<number>): number[] {
  return Array.from(beta).flatMap((value, j) => (value !== 0 ? [j] : []));
}

// Four orthogonal ±1 columns (Hadamard), so ZᵀZ = 4·I.
const HADAMARD = [
  [1, 1, 1, 1],
  [1, -1, 1, -1],
  [1, 1, -1, -1],
  [1, -1, -1, 1],
];

describe('lasso', () => {
  // y = 2·h0 − 0.5·h1 + 0.25·h2 + 0.7·h3, by hand; Z = [h0 h1 h2] so Z_jᵀy/4 = (2, −0.5, 0.25).
  const design = fromColumns(HADAMARD.slice(0, 3));
  const targets = [2.45, 2.05, 0.55, 2.95];

  it('equals soft-thresholding of Zᵀy/rows on an orthogonal design', () => {
    // β_j = sign(z_j)·max(|z_j| − α, 0) with z = (2, −0.5, 0.25), α = 0.3.
    const beta = lasso(design, targets, 0.3, { tolerance: 1e-12 });
    expect(Array.from(beta)).toEqual([expect.closeTo(1.7, 12), expect.closeTo(-0.2, 12), 0]);
  });

  it('divides by ‖Z_j‖²/rows when orthogonal columns differ in scale', () => {
    // Column 0 scaled by 2: z_0 = 4, ‖Z_0‖²/rows = 4 → β_0 = (4 − 0.3)/4 = 0.925.
    const scaled = fromColumns([HADAMARD[0].map((value) => 2 * value), HADAMARD[1], HADAMARD[2]]);
    const beta = lasso(scaled, targets, 0.3, { tolerance: 1e-12 });
    expect(Array.from(beta)).toEqual([expect.closeTo(0.925, 12), expect.closeTo(-0.2, 12), 0]);
  });

  it('gives least squares at α = 0 and all zeros from α_max = max|Zᵀy|/rows = 2 on', () => {
    expect(Array.from(lasso(design, targets, 0, { tolerance: 1e-14 }))).toEqual([
      expect.closeTo(2, 12),
      expect.closeTo(-0.5, 12),
      expect.closeTo(0.25, 12),
    ]);
    expect(Array.from(lasso(design, targets, 2, { tolerance: 1e-12 }))).toEqual([0, 0, 0]);
    expect(nonZeros(lasso(design, targets, 1.999, { tolerance: 1e-12 }))).toEqual([0]);
  });

  it('recovers the support of a planted sparse β exactly', () => {
    const rows = 200;
    const columns = 20;
    const design = { values: gaussians(rows * columns, 11), rows, columns };
    const planted = new Array<number>(columns).fill(0);
    const support = [2, 7, 11, 16];
    [1.5, -2, 1, -1.25].forEach((value, index) => (planted[support[index]] = value));
    const targets = plantedTargets(design, planted, 0.01, 12);
    const beta = lasso(design, targets, 0.05, { tolerance: 1e-10 });
    expect(nonZeros(beta)).toEqual(support);
    // Shrinkage toward 0 is about α per coefficient when ZᵀZ/rows ≈ I.
    support.forEach((j) => expect(Math.abs(beta[j] - planted[j])).toBeLessThan(0.15));
  });

  it('meets the optimality conditions: |Z_jᵀr|/rows ≤ α, with equality and sign(β_j) where β_j ≠ 0', () => {
    const rows = 60;
    const columns = 12;
    const design = { values: gaussians(rows * columns, 21), rows, columns };
    const targets = gaussians(rows, 22);
    const alpha = 0.1;
    const beta = lasso(design, targets, alpha, { tolerance: 1e-14, maxIterations: 100_000 });
    expect(nonZeros(beta).length).toBeGreaterThan(0);
    expect(nonZeros(beta).length).toBeLessThan(columns);
    for (let j = 0; j < columns; j++) {
      let gradient = 0;
      for (let row = 0; row < rows; row++) {
        let residual = targets[row];
        for (let k = 0; k < columns; k++) residual -= design.values[row * columns + k] * beta[k];
        gradient += design.values[row * columns + j] * residual;
      }
      gradient /= rows;
      if (beta[j] === 0) expect(Math.abs(gradient)).toBeLessThanOrEqual(alpha + 1e-9);
      else expect(gradient).toBeCloseTo(alpha * Math.sign(beta[j]), 9);
    }
  });

  it('reaches the same minimum from a warm start', () => {
    const rows = 60;
    const columns = 12;
    const design = { values: gaussians(rows * columns, 31), rows, columns };
    const problem = lassoProblem(design, gaussians(rows, 32));
    const cold = lassoOnGram(problem, 0.05, { tolerance: 1e-14, maxIterations: 100_000 }).beta;
    const warmStart = lassoOnGram(problem, 0.2, { tolerance: 1e-14 }).beta;
    const warm = lassoOnGram(problem, 0.05, { tolerance: 1e-14, maxIterations: 100_000, warmStart }).beta;
    Array.from(cold).forEach((value, j) => expect(warm[j]).toBeCloseTo(value, 8));
  });

  it('names the field when Z and y disagree', () => {
    expect(() => lasso(design, [1, 2, 3], 0.1)).toThrow(LassoInputError);
    expect(() => lasso(design, [1, 2, 3], 0.1)).toThrow(/lasso\.ts: y has 3 values, not 4/);
  });
});

describe('selectChannels', () => {
  it('finds an α with exactly keepCount non-zeros for several keepCount', () => {
    const rows = 120;
    const columns = 16;
    const design = { values: gaussians(rows * columns, 41), rows, columns };
    const dense = Array.from(gaussians(columns, 42));
    const targets = plantedTargets(design, dense, 0.5, 43);
    for (const keepCount of [1, 3, 5, 8, 12, 15]) {
      const selection = selectChannels(design, targets, keepCount);
      expect(selection.exact).toBe(true);
      expect(selection.kept).toHaveLength(keepCount);
      expect(nonZeros(selection.beta)).toEqual(selection.kept);
      expect(selection.alpha).toBeGreaterThan(0);
    }
  });

  it('keeps every channel with β = 1 when keepCount = channels', () => {
    const design = fromColumns(HADAMARD.slice(0, 3));
    const selection = selectChannels(design, [1, 2, 3, 4], 3);
    expect(selection.kept).toEqual([0, 1, 2]);
    expect(Array.from(selection.beta)).toEqual([1, 1, 1]);
  });

  it('drops a duplicated channel before a weaker informative one', () => {
    // Channels 0 and 1 are copies; channel 2 is weaker but carries what no other channel does.
    const rows = 80;
    const strong = Array.from(gaussians(rows, 51));
    const weak = Array.from(gaussians(rows, 52));
    const design = fromColumns([strong, strong, weak]);
    const targets = plantedTargets(design, [1, 1, 0.3], 0, 53);
    const selection = selectChannels(design, targets, 2);
    expect(selection.kept).toContain(2);
    expect(selection.kept.filter((channel) => channel < 2)).toHaveLength(1);
  });

  it('falls back to the strongest ‖β_j Z_j‖ when two channels enter at the same α', () => {
    // Z = [2·h0, h1], y = h0 + 2·h1: Z_jᵀy/4 = 2 for both, so the count jumps from 0 to 2 at α = 2.
    // Below it β = ((2 − α)/4, 2 − α) and ‖β_j Z_j‖ = (2 − α)·(1, 2): channel 1 is the stronger.
    const design = fromColumns([HADAMARD[0].map((value) => 2 * value), HADAMARD[1]]);
    const targets = HADAMARD[0].map((value, row) => value + 2 * HADAMARD[1][row]);
    const selection = selectChannels(design, targets, 1, { lasso: { tolerance: 1e-12 } });
    expect(selection.exact).toBe(false);
    expect(selection.kept).toEqual([1]);
    expect(selection.alpha).toBeLessThan(2);
    expect(nonZeros(selection.beta)).toEqual([0, 1]);
  });

  it('rejects a keepCount outside 1..channels', () => {
    const design = fromColumns(HADAMARD.slice(0, 3));
    const message = /keepCount is 0; pass an integer from 1 to 3/;
    expect(() => selectChannels(design, [1, 2, 3, 4], 0)).toThrow(message);
  });
});
