import * as tf from '@tensorflow/tfjs';
import type { KernelConfig, KernelFunc, TensorInfo } from '@tensorflow/tfjs';
import { KernelComposer } from './compose';

/**
 * Wraps a backend's BatchMatMul / _FusedMatMul so that transposed operands are transposed explicitly
 * first: on wasm only the plain product reaches XNNPACK, the transposed ones run a scalar loop.
 */
export function matMulTransposedKernel(kernelName: 'BatchMatMul' | '_FusedMatMul', backendName: string,
  original: KernelConfig): KernelConfig {
  const kernelFunc = (args: Parameters<KernelFunc>[0]): TensorInfo => {
    const { transposeA, transposeB } = args.attrs as { transposeA: boolean; transposeB: boolean };
    if (!transposeA && !transposeB) return original.kernelFunc(args) as TensorInfo;
    const c = new KernelComposer(args.backend, backendName);
    const swapLast = (t: TensorInfo) => {
      const perm = t.shape.map((_, i) => i);
      const r = perm.length;
      [perm[r - 2], perm[r - 1]] = [perm[r - 1], perm[r - 2]];
      return c.transpose(t, perm);
    };
    const inputs = { ...(args.inputs as Record<string, TensorInfo>) };
    if (transposeA) inputs.a = swapLast(inputs.a);
    if (transposeB) inputs.b = swapLast(inputs.b);
    const out = original.kernelFunc({
      ...args, inputs: inputs as any, attrs: { ...args.attrs, transposeA: false, transposeB: false },
    }) as TensorInfo;
    c.done(out);
    return out;
  };
  return { kernelName, backendName, setupFunc: original.setupFunc, disposeFunc: original.disposeFunc,
    kernelFunc: kernelFunc as KernelFunc };
}

export function requireKernel(kernelName: string, backendName: string): KernelConfig {
  const k = tf.getKernel(kernelName, backendName);
  if (!k) throw new Error(`Kernel '${kernelName}' is not registered for backend '${backendName}'`);
  return k;
}
