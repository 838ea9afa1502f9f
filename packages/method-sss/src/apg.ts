/**
 * Sparse Structure Selection's optimiser for the block factors λ (Huang & Wang, ECCV 2018): the accelerated
 * proximal gradient step in NAG form, as `APGNAG` in TuSimple/sparse-structure-selection `core/optimizer.py`.
 */
import * as tf from '@tensorflow/tfjs';
import type { OptimizerBuffer, OwnedUpdate } from '@rethink-prune/core';

/** S_a(x) = sign(x)·max(0, |x| − a) for one value; within a of 0 the result is exactly +0. */
function shrink(value: number, threshold: number): number {
  if (Math.abs(value) <= threshold) return 0;
  return value > 0 ? value - threshold : value + threshold;
}

/** Soft-thresholding S_a(x) = sign(x)·max(0, |x| − a), elementwise; small values become exactly 0. */
export function softThreshold(x: number, threshold: number): number;
export function softThreshold(x: Float32Array, threshold: number): Float32Array;
export function softThreshold(x: number | Float32Array, threshold: number): number | Float32Array {
  return typeof x === 'number' ? shrink(x, threshold) : x.map((value) => shrink(value, threshold));
}

export interface ApgState<T> {
  lambda: T;
  velocity: T;
}

/** One APGNAG step on one factor (steps 1–6 of method-facts §7.3). */
function apgScalar(lambda: number, velocity: number, gradient: number, lr: number, gamma: number,
  momentum: number): ApgState<number> {
  const scaled = momentum * velocity;
  const proximal = shrink(lambda - lr * gradient, lr * gamma);
  const nextVelocity = proximal - lambda + scaled;
  // λ is a scale: the authors clamp it at 0 after the momentum step, the velocity is left as it is.
  return { lambda: Math.max(0, proximal + momentum * nextVelocity), velocity: nextVelocity };
}

/**
 * APGNAG with learning rate η (`lr`), sparsity weight γ and momentum μ; `gradient` is the data loss's
 * gradient at the stored λ:
 *   v ← μ·v;  z = S_{η·γ}(λ − η·g);  v ← z − λ + v;  λ ← max(0, z + μ·v)
 * With γ = 0 this is NAG on λ with the velocity stored as −η·(momentum buffer).
 */
export function apgStep(lambda: number, velocity: number, gradient: number, lr: number, gamma: number,
  momentum: number): ApgState<number>;
export function apgStep(lambda: Float32Array, velocity: Float32Array, gradient: Float32Array, lr: number,
  gamma: number, momentum: number): ApgState<Float32Array>;
export function apgStep(lambda: number | Float32Array, velocity: number | Float32Array,
  gradient: number | Float32Array, lr: number, gamma: number, momentum: number)
  : ApgState<number> | ApgState<Float32Array> {
  if (typeof lambda === 'number') {
    return apgScalar(lambda, velocity as number, gradient as number, lr, gamma, momentum);
  }
  const velocities = velocity as Float32Array;
  const gradients = gradient as Float32Array;
  if (velocities.length !== lambda.length || gradients.length !== lambda.length) {
    throw new ApgLengthError(lambda.length, velocities.length, gradients.length);
  }
  const next = { lambda: new Float32Array(lambda.length), velocity: new Float32Array(lambda.length) };
  lambda.forEach((value, i) => {
    const step = apgScalar(value, velocities[i], gradients[i], lr, gamma, momentum);
    next.lambda[i] = step.lambda;
    next.velocity[i] = step.velocity;
  });
  return next;
}

export class ApgLengthError extends Error {
  constructor(lambdas: number, velocities: number, gradients: number) {
    super(`apg.ts apgStep: lambda has ${lambdas} values but velocity has ${velocities} and gradient ` +
      `${gradients}; pass arrays of one length (one entry per block factor)`);
    this.name = 'ApgLengthError';
  }
}

export class ApgStateError extends Error {
  constructor(buffers: number, weightNames: string[]) {
    super(`apg.ts apgHook.setState: the checkpoint holds ${buffers} velocity buffers for ` +
      `${weightNames.length} weights (${weightNames.join(', ')}); resume with the weight names of the run ` +
      'that wrote it, or delete the run directory to start over');
    this.name = 'ApgStateError';
  }
}

/**
 * The training loop's `ownUpdate` hook for SSS: the named λ weights (no weight decay, no SGD momentum) take
 * an APGNAG step with the scheduled LR after every SGD step; the velocities start at 0 and are checkpointed.
 */
export function apgHook(weightNames: string[], gamma: number, momentum = 0.9): OwnedUpdate {
  let velocities = new Map<string, OptimizerBuffer>();
  return {
    weights: weightNames,
    step(weights, gradients, lr) {
      for (const name of weightNames) {
        const weight = weights.get(name)!;
        const gradient = gradients.get(name)!.dataSync() as Float32Array;
        const lambda = weight.dataSync() as Float32Array;
        const velocity = velocities.get(name)?.values ?? new Float32Array(lambda.length);
        const next = apgStep(lambda, velocity, gradient, lr, gamma, momentum);
        velocities.set(name, { shape: weight.shape, values: next.velocity });
        weight.assign(tf.tensor(next.lambda, weight.shape));
      }
    },
    state: () => (velocities.size === 0 ? [] : weightNames.map((name) => {
      const { shape, values } = velocities.get(name)!;
      return { shape, values: Float32Array.from(values) };
    })),
    setState(state) {
      if (state.length !== 0 && state.length !== weightNames.length) {
        throw new ApgStateError(state.length, weightNames);
      }
      velocities = new Map(state.map(({ shape, values }, i) =>
        [weightNames[i], { shape, values: Float32Array.from(values) }]));
    },
  };
}
