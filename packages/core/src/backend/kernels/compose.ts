import * as tf from '@tensorflow/tfjs';
import type { KernelBackend, NamedAttrMap, TensorInfo } from '@tensorflow/tfjs';

/**
 * Builds a kernel out of other kernels of the same backend, so data never leaves that backend's memory.
 * Every intermediate is released when `done` hands back the result.
 */
export class KernelComposer {
  private readonly temps: TensorInfo[] = [];
  readonly backend: KernelBackend;
  constructor(backend: unknown, readonly backendName: string) {
    this.backend = backend as KernelBackend;
  }

  run(kernelName: string, inputs: Record<string, TensorInfo>, attrs: NamedAttrMap = {}): TensorInfo {
    const kernel = tf.getKernel(kernelName, this.backendName);
    if (!kernel) throw new Error(`Kernel '${kernelName}' is not registered for backend '${this.backendName}'`);
    const out = kernel.kernelFunc({ inputs: inputs as any, attrs, backend: this.backend }) as TensorInfo;
    this.temps.push(out);
    return out;
  }

  transpose(x: TensorInfo, perm: number[]): TensorInfo {
    return this.run('Transpose', { x }, { perm });
  }

  reshape(x: TensorInfo, shape: number[]): TensorInfo {
    return this.run('Reshape', { x }, { shape });
  }

  slice(x: TensorInfo, begin: number[], size: number[]): TensorInfo {
    return this.run('Slice', { x }, { begin, size });
  }

  pad(x: TensorInfo, paddings: Array<[number, number]>): TensorInfo {
    return this.run('PadV2', { x }, { paddings, constantValue: 0 });
  }

  /** A Float32Array over the tensor's memory (the wasm heap, or the cpu backend's own array); no copy. */
  view(x: TensorInfo): Float32Array {
    const b = this.backend as any;
    if (typeof b.typedArrayFromHeap === 'function') return b.typedArrayFromHeap(x);
    return b.data.get(x.dataId).values as Float32Array;
  }

  /** A new float32 tensor of `shape`, contents unspecified, owned by this composer until `done`. */
  alloc(shape: number[]): TensorInfo {
    const b = this.backend as any;
    const out: TensorInfo = typeof b.makeOutput === 'function'
      ? b.makeOutput(shape, 'float32')
      : b.makeTensorInfo(shape, 'float32', new Float32Array(shape.reduce((a, d) => a * d, 1)));
    this.temps.push(out);
    return out;
  }

  /** Returns `result` and frees every other intermediate. */
  done(result: TensorInfo): TensorInfo {
    for (const t of this.temps) if (t !== result) this.backend.disposeData(t.dataId);
    return result;
  }
}
