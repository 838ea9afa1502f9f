import * as tf from '@tensorflow/tfjs';

/** `body`'s result and the names of the kernels it ran, in order (tf.engine().runKernel, wrapped while it runs). */
export function withKernelLog<T>(body: () => T): { result: T; kernels: string[] } {
  const kernels: string[] = [];
  const engine = tf.engine() as unknown as { runKernel: (name: string, ...rest: unknown[]) => unknown };
  const runKernel = engine.runKernel;
  engine.runKernel = function (name: string, ...rest: unknown[]) {
    kernels.push(name);
    return runKernel.call(this, name, ...rest);
  };
  try {
    return { result: body(), kernels };
  } finally {
    engine.runKernel = runKernel;
  }
}
