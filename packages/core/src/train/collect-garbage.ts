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
