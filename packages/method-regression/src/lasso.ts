/**
 * The LASSO of Channel Pruning (He, Zhang, Sun, ICCV 2017; `yihui-he/channel-pruning`, `lib/decompose.py`
 * `dictionary`): β = argmin (1/(2·rows))‖y − Zβ‖² + α‖β‖₁, no intercept (scikit-learn `Lasso`'s objective),
 * and the search for the α that keeps exactly the requested number of channels.
 * npm has no coordinate-descent LASSO (mljs has none; scikitjs fits it by Adam, which never gives exact
 * zeros), so this is cyclic coordinate descent on the Gram matrix with scikit-learn's duality-gap test.
 */

export class LassoInputError extends Error {
  constructor(field: string, problem: string, fix: string) {
    super(`method-regression/src/lasso.ts: ${field} ${problem}; ${fix}`);
    this.name = 'LassoInputError';
  }
}

/** Z as a dense row-major rows × columns matrix. */
export interface DesignMatrix {
  values: ArrayLike<number>;
  rows: number;
  columns: number;
}

/** Everything the solver needs, of size columns² whatever the number of rows. */
export interface LassoProblem {
  /** columns × columns row-major ZᵀZ. */
  gram: Float64Array;
  /** Zᵀy. */
  correlation: Float64Array;
  /** yᵀy. */
  targetEnergy: number;
  rows: number;
  columns: number;
}

export interface LassoOptions {
  /** Most coordinate sweeps (scikit-learn `max_iter`, 1000). */
  maxIterations?: number;
  /** Stop when the duality gap is at most tolerance · yᵀy (scikit-learn `tol`, 1e-4). */
  tolerance?: number;
  /** Starting β, e.g. the solution at a nearby α (scikit-learn `warm_start`). */
  warmStart?: ArrayLike<number>;
}

export interface LassoSolution {
  beta: Float64Array;
  sweeps: number;
  dualityGap: number;
}

/** A problem with no rows yet, to fill with `addLassoRows` and close with `finishLassoProblem`. */
export function emptyLassoProblem(columns: number): LassoProblem {
  const gram = new Float64Array(columns * columns);
  return { gram, correlation: new Float64Array(columns), targetEnergy: 0, rows: 0, columns };
}

/** Adds rowCount rows of Z (row-major) and their targets; fills only the upper triangle of ZᵀZ. */
export function addLassoRows(
  problem: LassoProblem,
  values: ArrayLike<number>,
  targets: ArrayLike<number>,
  rowCount: number,
): void {
  const { gram, correlation, columns } = problem;
  for (let row = 0; row < rowCount; row++) {
    const base = row * columns;
    const target = targets[row];
    problem.targetEnergy += target * target;
    for (let a = 0; a < columns; a++) {
      const value = values[base + a];
      if (value === 0) continue;
      correlation[a] += value * target;
      for (let b = a; b < columns; b++) gram[a * columns + b] += value * values[base + b];
    }
  }
  problem.rows += rowCount;
}

/** Copies the upper triangle of ZᵀZ onto the lower one once every row is in. */
export function finishLassoProblem(problem: LassoProblem): LassoProblem {
  mirrorUpperTriangle(problem.gram, problem.columns);
  return problem;
}

/** Builds ZᵀZ, Zᵀy and yᵀy in float64 from an explicit Z. */
export function lassoProblem(design: DesignMatrix, targets: ArrayLike<number>): LassoProblem {
  const { values, rows, columns } = design;
  if (values.length !== rows * columns) {
    const detail = `has ${values.length} values, not rows × columns = ${rows} × ${columns}`;
    throw new LassoInputError('design.values', detail, 'pass a row-major rows × columns matrix');
  }
  if (targets.length !== rows) {
    const detail = `has ${targets.length} values, not ${rows}`;
    throw new LassoInputError('y', detail, 'pass one target per row of Z');
  }
  const problem = emptyLassoProblem(columns);
  addLassoRows(problem, values, targets, rows);
  return finishLassoProblem(problem);
}

/** Copies the upper triangle of a square row-major matrix onto its lower triangle. */
export function mirrorUpperTriangle(matrix: Float64Array, size: number): void {
  for (let a = 0; a < size; a++) {
    for (let b = 0; b < a; b++) matrix[a * size + b] = matrix[b * size + a];
  }
}

/**
 * Relative rounding error allowed in Z_jᵀ(y − Σ_{k≠j} β_k Z_k): an exact copy of a channel already in the
 * model clears the threshold by this much only (≈ 1e-16 relative) and must stay at 0, not at 1e-16.
 */
const ROUNDING_MARGIN = 1e-11;

function softThreshold(value: number, threshold: number): number {
  if (value > threshold) return value - threshold;
  if (value < -threshold) return value + threshold;
  return 0;
}

/** scikit-learn's gap for the objective scaled by rows: ‖y − Zβ‖²/2 + rows·α‖β‖₁ (primal minus dual). */
function dualityGap(problem: LassoProblem, penalty: number, beta: Float64Array, gramBeta: Float64Array) {
  let betaGramBeta = 0;
  let betaCorrelation = 0;
  let l1Norm = 0;
  let dualNorm = 0;
  for (let j = 0; j < problem.columns; j++) {
    betaGramBeta += beta[j] * gramBeta[j];
    betaCorrelation += beta[j] * problem.correlation[j];
    l1Norm += Math.abs(beta[j]);
    dualNorm = Math.max(dualNorm, Math.abs(problem.correlation[j] - gramBeta[j]));
  }
  const residualEnergy = Math.max(problem.targetEnergy + betaGramBeta - 2 * betaCorrelation, 0);
  // Rescale the residual into the dual feasible set ‖Zᵀθ‖∞ ≤ rows·α.
  const scale = dualNorm > penalty ? penalty / dualNorm : 1;
  const gap = 0.5 * residualEnergy * (1 + scale * scale);
  return gap + penalty * l1Norm - scale * (problem.targetEnergy - betaCorrelation);
}

/**
 * Cyclic coordinate descent in the Gram form (scikit-learn `precompute=True`); the authors draw coordinates
 * at random, which reaches the same minimum.
 */
export function lassoOnGram(problem: LassoProblem, alpha: number, options: LassoOptions = {}): LassoSolution {
  const { gram, correlation, columns } = problem;
  const maxIterations = options.maxIterations ?? 1000;
  const tolerance = options.tolerance ?? 1e-4;
  if (!(alpha >= 0)) throw new LassoInputError('alpha', `is ${alpha}`, 'pass a number ≥ 0');
  const beta = new Float64Array(columns);
  if (options.warmStart) {
    if (options.warmStart.length !== columns) {
      const detail = `has ${options.warmStart.length} values, not ${columns}`;
      throw new LassoInputError('options.warmStart', detail, 'pass one coefficient per column of Z');
    }
    beta.set(Array.from(options.warmStart));
  }
  // gramBeta = ZᵀZβ, updated per coordinate so one sweep costs columns².
  const gramBeta = new Float64Array(columns);
  for (let a = 0; a < columns; a++) {
    for (let b = 0; b < columns; b++) gramBeta[a] += gram[a * columns + b] * beta[b];
  }
  const penalty = alpha * problem.rows;
  const gapTolerance = tolerance * problem.targetEnergy;
  let gap = Infinity;
  let sweep = 0;
  while (sweep < maxIterations) {
    sweep++;
    let largestChange = 0;
    let largestCoefficient = 0;
    for (let j = 0; j < columns; j++) {
      const curvature = gram[j * columns + j];
      const previous = beta[j];
      const partialCorrelation = correlation[j] - gramBeta[j] + curvature * previous;
      const scale = Math.abs(correlation[j]) + Math.abs(gramBeta[j]) + curvature * Math.abs(previous);
      // A channel that never contributes, or that clears the threshold only by rounding error, stays at 0.
      const clears = curvature > 0 && Math.abs(partialCorrelation) - penalty > ROUNDING_MARGIN * scale;
      const next = clears ? softThreshold(partialCorrelation, penalty) / curvature : 0;
      const change = next - previous;
      if (change !== 0) {
        for (let k = 0; k < columns; k++) gramBeta[k] += gram[j * columns + k] * change;
        beta[j] = next;
      }
      largestChange = Math.max(largestChange, Math.abs(change));
      largestCoefficient = Math.max(largestCoefficient, Math.abs(next));
    }
    // scikit-learn computes the gap only once the coefficients have settled (or on the last sweep).
    const settled = largestCoefficient === 0 || largestChange <= tolerance * largestCoefficient;
    if (settled || sweep === maxIterations) {
      gap = dualityGap(problem, penalty, beta, gramBeta);
      if (gap <= gapTolerance) break;
    }
  }
  return { beta, sweeps: sweep, dualityGap: gap };
}

/** β for an explicit Z and y (builds the Gram matrix once; use `lassoOnGram` to reuse it across α). */
export function lasso(
  design: DesignMatrix,
  targets: ArrayLike<number>,
  alpha: number,
  options: LassoOptions = {},
): Float64Array {
  return lassoOnGram(lassoProblem(design, targets), alpha, options).beta;
}

export interface ChannelSelection {
  /** Channels that stay, ascending. */
  kept: number[];
  /** β at `alpha` (all ones when every channel stays). */
  beta: Float64Array;
  alpha: number;
  /** False when the search stalled on a tie and the strongest `keepCount` of a wider support were taken. */
  exact: boolean;
}

export interface SelectionOptions {
  lasso?: Omit<LassoOptions, 'warmStart'>;
  /** Most halvings of the α interval (default 100). */
  maxBisections?: number;
}

function support(beta: Float64Array): number[] {
  const kept: number[] = [];
  beta.forEach((value, j) => value !== 0 && kept.push(j));
  return kept;
}

/**
 * The `keepCount` channels with the largest ‖β_j Z_j‖ (β alone is not comparable across channels whose Z
 * differ in scale), then by |Z_jᵀy|/‖Z_j‖, the order in which the LASSO path admits channels.
 */
function strongestChannels(problem: LassoProblem, beta: Float64Array, keepCount: number): number[] {
  const columnNorm = (j: number) => Math.sqrt(problem.gram[j * problem.columns + j]);
  const strength = (j: number) => Math.abs(beta[j]) * columnNorm(j);
  const affinity = (j: number) => (columnNorm(j) > 0 ? Math.abs(problem.correlation[j]) / columnNorm(j) : 0);
  const order = Array.from({ length: problem.columns }, (_, j) => j);
  order.sort((a, b) => strength(b) - strength(a) || affinity(b) - affinity(a) || a - b);
  return order.slice(0, keepCount).sort((a, b) => a - b);
}

/**
 * The λ search of `dictionary`: the authors double α from 1e-3 until fewer than c′ channels survive, then
 * bisect until c′ ≤ #non-zero ≤ 1.1·c′. Here the upper end is α_max = max_j |Z_jᵀy| / rows, the smallest α
 * at which β = 0 (closed form, no doubling needed), and the bisection runs until #non-zero = c′ exactly.
 */
export function selectChannelsOnGram(
  problem: LassoProblem,
  keepCount: number,
  options: SelectionOptions = {},
): ChannelSelection {
  const { columns, rows } = problem;
  if (!Number.isInteger(keepCount) || keepCount < 1 || keepCount > columns) {
    throw new LassoInputError('keepCount', `is ${keepCount}`, `pass an integer from 1 to ${columns}`);
  }
  // Nothing to select: β = 1 is the layer as it is (the authors skip the LASSO too when c′ = c).
  if (keepCount === columns) {
    const kept = Array.from({ length: columns }, (_, j) => j);
    return { kept, beta: new Float64Array(columns).fill(1), alpha: 0, exact: true };
  }
  const alphaMax = Math.max(...Array.from(problem.correlation, Math.abs)) / rows;
  if (!(alphaMax > 0)) {
    throw new LassoInputError(
      'y',
      'is orthogonal to every channel contribution (Zᵀy = 0), so no α selects a channel',
      "check that the target is this layer's output and sample more positions",
    );
  }
  let left = 0;
  let right = alphaMax;
  let beta: Float64Array = new Float64Array(columns);
  let alpha = right;
  let wider: { beta: Float64Array; alpha: number } | null = null;
  const maxBisections = options.maxBisections ?? 100;
  for (let bisection = 0; bisection < maxBisections; bisection++) {
    alpha = (left + right) / 2;
    if (alpha <= left || alpha >= right) break;
    beta = lassoOnGram(problem, alpha, { ...options.lasso, warmStart: beta }).beta;
    const survivors = support(beta);
    if (survivors.length === keepCount) return { kept: survivors, beta, alpha, exact: true };
    if (survivors.length > keepCount) {
      left = alpha;
      wider = { beta, alpha };
    } else {
      right = alpha;
    }
  }
  // Stalled on a tie (several channels enter at the same α, e.g. exact copies): keep the strongest
  // keepCount of the last support that was wide enough.
  const fallback = wider ?? { beta, alpha };
  return { kept: strongestChannels(problem, fallback.beta, keepCount), ...fallback, exact: false };
}

/** `selectChannelsOnGram` for an explicit Z (rows × channels) and y. */
export function selectChannels(
  design: DesignMatrix,
  targets: ArrayLike<number>,
  keepCount: number,
  options: SelectionOptions = {},
): ChannelSelection {
  return selectChannelsOnGram(lassoProblem(design, targets), keepCount, options);
}
