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

/** Crops or zero-pads `x` along `axis` so that `before` rows come first and the axis ends with length `length`. */
export function fitAxis(c: KernelComposer, x: TensorInfo, axis: number, before: number, length: number): TensorInfo {
  const size = x.shape[axis];
  let y = x;
  if (before > 0) {
    const p: Array<[number, number]> = x.shape.map(() => [0, 0]);
    p[axis] = [before, 0];
    y = c.pad(y, p);
  } else if (before < 0) {
    const begin = x.shape.map(() => 0);
    const sz = [...x.shape];
    begin[axis] = -before;
    sz[axis] = size + before;
    y = c.slice(y, begin, sz);
  }
  const have = y.shape[axis];
  if (have < length) {
    const p: Array<[number, number]> = y.shape.map(() => [0, 0]);
    p[axis] = [0, length - have];
    y = c.pad(y, p);
  } else if (have > length) {
    const sz = [...y.shape];
    sz[axis] = length;
    y = c.slice(y, y.shape.map(() => 0), sz);
  }
  return y;
}
