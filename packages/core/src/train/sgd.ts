import * as tf from '@tensorflow/tfjs';
import { UnknownWeightError } from '../errors';

/**
 * SGD with momentum and weight decay, in PyTorch's form (which the seed uses):
 *   g ← g + wd·w;  v ← μ·v + g;  w ← w − lr·v      (Nesterov, as SFP's scripts: w ← w − lr·(g + μ·v))
 * The momentum buffers are explicit state, saved in every checkpoint.
 */
export class Sgd {
  private readonly buffers = new Map<string, tf.Variable>();

  constructor(
    private readonly momentum: number,
    private readonly weightDecay: number,
    private readonly nesterov = false,
  ) {}

  step(variables: Map<string, tf.Variable>, grads: tf.NamedTensorMap, lr: number): void {
    tf.tidy(() => {
      for (const [name, gradient] of Object.entries(grads)) {
        const weight = variables.get(name);
        if (!weight) throw new UnknownWeightError('Sgd.step', name, [...variables.keys()]);
        const decayed = this.weightDecay > 0 ? tf.add(gradient, tf.mul(weight, this.weightDecay)) : gradient;
        let velocity = this.buffers.get(name);
        if (!velocity) {
          velocity = tf.variable(tf.zerosLike(weight), false);
          this.buffers.set(name, velocity);
        }
        velocity.assign(tf.add(tf.mul(velocity, this.momentum), decayed));
        const direction = this.nesterov ? tf.add(decayed, tf.mul(velocity, this.momentum)) : velocity;
        weight.assign(tf.sub(weight, tf.mul(direction, lr)));
      }
    });
  }

  /** Momentum buffers by variable name, as plain arrays. */
  getState(): Record<string, { shape: number[]; values: Float32Array }> {
    const state: Record<string, { shape: number[]; values: Float32Array }> = {};
    for (const [name, buffer] of this.buffers) {
      state[name] = { shape: buffer.shape, values: buffer.dataSync() as Float32Array };
    }
    return state;
  }

  setState(state: Record<string, { shape: number[]; values: Float32Array }>): void {
    this.dispose();
    for (const [name, { shape, values }] of Object.entries(state)) {
      this.buffers.set(name, tf.variable(tf.tensor(values, shape), false));
    }
  }

  dispose(): void {
    for (const v of this.buffers.values()) v.dispose();
    this.buffers.clear();
  }
}
