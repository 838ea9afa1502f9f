import * as tf from '@tensorflow/tfjs';

/**
 * SGD with momentum and weight decay, in PyTorch's form (which the seed uses):
 *   g ← g + wd·w;  v ← μ·v + g;  w ← w − lr·v
 * The momentum buffers are explicit state, saved in every checkpoint.
 */
export class Sgd {
  private readonly buffers = new Map<string, tf.Variable>();

  constructor(private readonly momentum: number, private readonly weightDecay: number) {}

  step(variables: Map<string, tf.Variable>, grads: tf.NamedTensorMap, lr: number): void {
    tf.tidy(() => {
      for (const [name, g] of Object.entries(grads)) {
        const w = variables.get(name);
        if (!w) throw new Error(`gradient for unknown variable '${name}'`);
        const d = this.weightDecay > 0 ? tf.add(g, tf.mul(w, this.weightDecay)) : g;
        let v = this.buffers.get(name);
        if (!v) {
          v = tf.variable(tf.zerosLike(w), false);
          this.buffers.set(name, v);
        }
        v.assign(tf.add(tf.mul(v, this.momentum), d));
        w.assign(tf.sub(w, tf.mul(v, lr)));
      }
    });
  }

  /** Momentum buffers by variable name, as plain arrays. */
  getState(): Record<string, { shape: number[]; values: Float32Array }> {
    const out: Record<string, { shape: number[]; values: Float32Array }> = {};
    for (const [name, v] of this.buffers) out[name] = { shape: v.shape, values: v.dataSync() as Float32Array };
    return out;
  }

  setState(state: Record<string, { shape: number[]; values: Float32Array }>): void {
    this.dispose();
    for (const [name, { shape, values }] of Object.entries(state)) this.buffers.set(name, tf.variable(tf.tensor(values, shape), false));
  }

  dispose(): void {
    for (const v of this.buffers.values()) v.dispose();
    this.buffers.clear();
  }
}
