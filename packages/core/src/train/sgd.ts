import * as tf from '@tensorflow/tfjs';
import { nativeKernelActive, SGD_STEP } from '../backend/kernels/native-training-ops';
import { UnknownWeightError } from '../errors';

/** The model's trainable variables by weight name (`layer/weight`), the names Sgd.step and the hooks use. */
export function trainableVariables(model: tf.LayersModel): Map<string, tf.Variable> {
  return new Map(model.trainableWeights.map((weight) => [weight.originalName, weight.read() as tf.Variable]));
}

/** tf.variableGrads' gradients (keyed by tfjs's variable names) keyed by weight name, as Sgd.step takes them. */
export function gradientsByWeightName(variables: Map<string, tf.Variable>, grads: tf.NamedTensorMap): tf.NamedTensorMap {
  const named: tf.NamedTensorMap = {};
  for (const [name, variable] of variables) if (grads[variable.name]) named[name] = grads[variable.name];
  return named;
}

/** One optimiser buffer as a checkpoint stores it. */
export interface OptimizerBuffer {
  shape: number[];
  values: Float32Array;
}

/**
 * An update a method owns for some weights (SSS's proximal step on the block factors λ): SGD leaves those
 * weights alone (no momentum, no weight decay) and hands this update their gradients and the scheduled LR
 * after its own step. Its state is saved and restored with SGD's momentum buffers, so resume stays exact.
 */
export interface OwnedUpdate {
  /** Weight names (`layer/weight`) this update owns. */
  weights: string[];
  /** Updates the owned weights in place (inside SGD's tf.tidy); `gradients` holds the owned weights' only. */
  step(weights: Map<string, tf.Variable>, gradients: Map<string, tf.Tensor>, lr: number): void;
  /** The update's state (e.g. momentum), copied: the caller may keep it. Empty before the first step. */
  state(): OptimizerBuffer[];
  /** Replaces the state with one `state()` returned; an empty list means "as before the first step". */
  setState(state: OptimizerBuffer[]): void;
}

/** Buffers of the owned update in `getState()`, after SGD's: `#owned-update/0`, `#owned-update/1`, … */
const OWNED_PREFIX = '#owned-update/';

export class OwnedStateError extends Error {
  constructor(count: number) {
    super(`Sgd.setState: the checkpoint's optimizer state (checkpoint/state.json, field 'optimizer') ` +
      `holds ${count} '${OWNED_PREFIX}…' buffers but this run has no ownUpdate hook; resume with the hooks ` +
      'of the run that wrote it, or delete the run directory to start over');
    this.name = 'OwnedStateError';
  }
}

/**
 * SGD with momentum and weight decay, in PyTorch's form (which the seed uses):
 *   g ← g + wd·w;  v ← μ·v + g;  w ← w − lr·v      (Nesterov, as SFP's scripts: w ← w − lr·(g + μ·v))
 * The momentum buffers are explicit state, saved in every checkpoint. Weights claimed by an `OwnedUpdate`
 * are skipped and updated by it after SGD's step.
 */
export class Sgd {
  private readonly buffers = new Map<string, tf.Variable>();
  private readonly ownedNames: Set<string>;

  constructor(
    private readonly momentum: number,
    private readonly weightDecay: number,
    private readonly nesterov = false,
    private readonly owned?: OwnedUpdate,
  ) {
    this.ownedNames = new Set(owned?.weights ?? []);
    // A new optimiser starts from empty state, its owned update included (a hook object may be reused).
    owned?.setState([]);
  }

  step(variables: Map<string, tf.Variable>, grads: tf.NamedTensorMap, lr: number): void {
    tf.tidy(() => {
      const ownedGradients = new Map<string, tf.Tensor>();
      const updates: Array<{ weight: tf.Variable; gradient: tf.Tensor; velocity: tf.Variable }> = [];
      for (const [name, gradient] of Object.entries(grads)) {
        const weight = variables.get(name);
        if (!weight) throw new UnknownWeightError('Sgd.step', name, [...variables.keys()]);
        if (this.ownedNames.has(name)) {
          ownedGradients.set(name, gradient);
          continue;
        }
        let velocity = this.buffers.get(name);
        if (!velocity) {
          velocity = tf.variable(tf.zerosLike(weight), false);
          this.buffers.set(name, velocity);
        }
        updates.push({ weight, gradient, velocity });
      }
      const nativeStep = nativeKernelActive(SGD_STEP);
      const onNative = ({ weight }: (typeof updates)[number]) => nativeStep && weight.dtype === 'float32';
      const native = updates.filter(onNative);
      if (native.length > 0) {
        // Every weight's update in one pass of the native addon.
        const inputs = Object.fromEntries(native.flatMap(({ weight, gradient, velocity }, i) =>
          [[`w${i}`, weight], [`g${i}`, gradient], [`v${i}`, velocity]]));
        const outputs = tf.engine().runKernel(SGD_STEP, inputs, { count: native.length, lr, momentum: this.momentum,
          weightDecay: this.weightDecay, nesterov: this.nesterov }) as tf.Tensor[];
        native.forEach(({ weight, velocity }, i) => {
          weight.assign(outputs[i]);
          velocity.assign(outputs[native.length + i]);
        });
      }
      for (const { weight, gradient, velocity } of updates.filter((u) => !onNative(u))) {
        const decayed = this.weightDecay > 0 ? tf.add(gradient, tf.mul(weight, this.weightDecay)) : gradient;
        velocity.assign(tf.add(tf.mul(velocity, this.momentum), decayed));
        const direction = this.nesterov ? tf.add(decayed, tf.mul(velocity, this.momentum)) : velocity;
        weight.assign(tf.sub(weight, tf.mul(direction, lr)));
      }
      if (this.owned && ownedGradients.size > 0) this.owned.step(variables, ownedGradients, lr);
    });
  }

  /** Momentum buffers by variable name, then the owned update's state, as plain arrays. */
  getState(): Record<string, OptimizerBuffer> {
    const state: Record<string, OptimizerBuffer> = {};
    for (const [name, buffer] of this.buffers) {
      state[name] = { shape: buffer.shape, values: buffer.dataSync() as Float32Array };
    }
    this.owned?.state().forEach((buffer, index) => { state[`${OWNED_PREFIX}${index}`] = buffer; });
    return state;
  }

  setState(state: Record<string, OptimizerBuffer>): void {
    this.dispose();
    const ownedState: OptimizerBuffer[] = [];
    for (const [name, { shape, values }] of Object.entries(state)) {
      const ownedIndex = name.startsWith(OWNED_PREFIX) ? Number(name.slice(OWNED_PREFIX.length)) : undefined;
      if (ownedIndex !== undefined) ownedState[ownedIndex] = { shape, values };
      else this.buffers.set(name, tf.variable(tf.tensor(values, shape), false));
    }
    if (!this.owned && ownedState.length > 0) throw new OwnedStateError(ownedState.length);
    this.owned?.setState(ownedState);
  }

  dispose(): void {
    for (const v of this.buffers.values()) v.dispose();
    this.buffers.clear();
  }
}
