import type { KernelConfig, KernelFunc, TensorInfo } from '@tensorflow/tfjs';
import { KernelComposer } from './compose';

/**
 * tf.layers and tfjs-core pass biases reshaped for broadcasting ([1,1,1,C] in NHWC), which the wasm
 * FusedConv2D and _FusedMatMul reject ("only supports rank-1 bias", checked on the shape the data was stored with, so a Reshape does not
 * help): layers with a bias fail there. Copy it into a rank-1 tensor first.
 */
export function rank1BiasKernel(kernelName: 'FusedConv2D' | '_FusedMatMul', backendName: string, original: KernelConfig): KernelConfig {
  const kernelFunc = (args: Parameters<KernelFunc>[0]): TensorInfo => {
    const inputs = args.inputs as Record<string, TensorInfo>;
    const bias = inputs.bias;
    const stored = bias && (args.backend as { dataIdMap?: { get(id: unknown): { shape: number[] } } }).dataIdMap?.get(bias.dataId)?.shape;
    if (!bias || (bias.shape.length <= 1 && (stored?.length ?? 1) <= 1)) return original.kernelFunc(args) as TensorInfo;
    const c = new KernelComposer(args.backend, backendName);
    const flat = c.alloc([bias.shape.reduce((a, d) => a * d, 1)]);
    c.view(flat).set(c.view(bias));
    const out = original.kernelFunc({ ...args, inputs: { ...inputs, bias: flat } as any }) as TensorInfo;
    c.done(out);
    return out;
  };
  return { kernelName, backendName, setupFunc: original.setupFunc, disposeFunc: original.disposeFunc, kernelFunc: kernelFunc as KernelFunc };
}
