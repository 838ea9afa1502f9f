import * as tf from '@tensorflow/tfjs';
import type { Tensor } from '@tensorflow/tfjs';

/** The parts of tfjs's gradient tape this module reaches (tfjs-core's engine.ts and tape.ts, not exported). */
interface TapeNode {
  inputs: Record<string, Tensor>;
  saved?: Tensor[];
  gradient?: (this: TapeNode, dys: Array<Tensor | null>) => Record<string, () => Tensor>;
}

/**
 * tf.variableGrads with PyTorch's memory profile. tfjs keeps every activation's gradient and every tensor saved for
 * the backward pass until the whole backward pass ends, so its peak holds all activations and all their gradients
 * at once. Here the tape frees as it goes: once a node's backward has run, its outputs' gradients and its saved
 * tensors are disposed (nothing later reads them: the tape runs in reverse, and an output's gradient is complete
 * before its producer runs), and the temporaries of a gradient that computes eagerly (tf.customGrad's) go with a
 * tidy around it. Gradients are the same tensors' values as tf.variableGrads'.
 */
export function variableGrads(f: () => tf.Scalar, varList: tf.Variable[]): { value: tf.Scalar; grads: tf.NamedTensorMap } {
  return tf.variableGrads(() => {
    const y = f();
    freeAsItGoes((tf.engine() as unknown as { state: { activeTape: TapeNode[] | null } }).state.activeTape ?? []);
    return y;
  }, varList);
}

/** Wraps each node's gradient so that running a node releases what the node run before it no longer needs. */
function freeAsItGoes(tape: TapeNode[]): void {
  /** How often each tensor was stored as some input's gradient (the tape adds a second one into the first). */
  const stored = new Map<Tensor, number>();
  /** Tensors the tape holds a gradient for (as tape.ts decides between storing and adding). */
  const hasGradient = new Set<number>();
  let previous: Tensor[] = [];
  const release = () => {
    for (const t of previous) if ((stored.get(t) ?? 0) <= 1) t.dispose();
    previous = [];
  };
  for (const node of tape) {
    const gradient = node.gradient;
    if (!gradient) continue;
    // `this` is the tape's pruned copy of the node: its inputs are the ones the backward pass asks for.
    node.gradient = function (this: TapeNode, dys) {
      release();
      const inputs = Object.entries(this.inputs);
      const grads = tf.tidy(() => {
        const thunks = gradient.call(this, dys);
        return inputs.map(([name]) => thunks[name]());
      });
      const added: Tensor[] = [];
      inputs.forEach(([, x], i) => {
        if (hasGradient.has(x.id)) added.push(grads[i]); // summed into the stored one, then unread
        else stored.set(grads[i], (stored.get(grads[i]) ?? 0) + 1);
        hasGradient.add(x.id);
      });
      const handedBack = new Set(grads);
      // A gradient passed through unchanged (dx = dy) or a saved tensor handed back lives on as its input's.
      previous = [...dys, ...(node.saved ?? [])].filter((t): t is Tensor => t !== null && !handedBack.has(t))
        .concat(added.filter((t) => !stored.has(t)));
      return Object.fromEntries(inputs.map(([name], i) => [name, () => grads[i]]));
    };
  }
}
