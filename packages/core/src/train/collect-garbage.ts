import type * as tf from '@tensorflow/tfjs';
import * as v8 from 'v8';
import * as vm from 'vm';

let gc: (() => void) | undefined;

/**
 * A full garbage collection now. Building a model leaves the initialisers' JS arrays (the weights' size again: 50 MB
 * for VGG-16) as garbage once the backend has copied them, and V8 may keep them through the first training steps,
 * where the peak memory is; training starts after this. Node only (gc is exposed through v8 flags).
 */
export function collectGarbage(): void {
  if (!gc) {
    v8.setFlagsFromString('--expose-gc');
    gc = vm.runInNewContext('gc') as () => void;
  }
  gc();
}

/** Weight bytes from which a model's leftover initial values are worth a full collection (4M parameters). */
const GARBAGE_WORTH_COLLECTING = 16e6;

/**
 * Before a model's first training step: its initial values, copied into the backend, out of the training peak, where
 * they are large enough to be worth a full collection (tens of ms; tests train small models hundreds of times).
 */
export function collectInitialValues(weights: tf.Variable[]): void {
  if (weights.reduce((bytes, w) => bytes + 4 * w.size, 0) >= GARBAGE_WORTH_COLLECTING) collectGarbage();
}
