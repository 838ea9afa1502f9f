import * as tf from '@tensorflow/tfjs';
import { BatchNormalization } from './batch-norm';
import { Add, ReLU } from './fused-relu';

/**
 * The building blocks every family shares, with the seed repository's initialisation:
 * conv N(0, √(2/(k²·out))) without bias, BN γ=γ0 β=0 (PyTorch momentum 0.1, ε 1e-5), linear N(0, 0.01).
 */
export type Sym = tf.SymbolicTensor;

/** Deterministic per-layer seeds from one model seed. */
/** Set while `shapesOnly` builds a model: initialisers give zeros (fast), the seeds advance as usual. */
let shapesOnlyBuild = false;

/** A model built for its shapes only (counting params and FLOPs): no random draws, which cost seconds at 224×224. */
export function shapesOnly<T>(build: () => T): T {
  shapesOnlyBuild = true;
  try {
    return build();
  } finally {
    shapesOnlyBuild = false;
  }
}

export class SeedSequence {
  private next = 0;
  constructor(private readonly base: number) {}
  take(): number {
    return (this.base * 7919 + ++this.next * 104729) % 2147483647;
  }

  /** N(0, stddev) with the next seed. */
  normal(stddev: number): ReturnType<typeof tf.initializers.zeros> {
    const seed = this.take();
    return shapesOnlyBuild ? tf.initializers.zeros() : tf.initializers.randomNormal({ mean: 0, stddev, seed });
  }

  /** U(−bound, bound) with the next seed. */
  uniform(bound: number): ReturnType<typeof tf.initializers.zeros> {
    const seed = this.take();
    return shapesOnlyBuild ? tf.initializers.zeros() : tf.initializers.randomUniform({ minval: -bound, maxval: bound, seed });
  }
}

/**
 * A conv initialised as the seed's models do: N(0, √(2/n)) with n = k²·C_out, or k²·C_in with `fanIn` (the
 * weight-level folder's VGG).
 */
export function conv(x: Sym, name: string, filters: number, opts: { kernel?: number; stride?: number; seeds: SeedSequence;
  bias?: boolean; padding?: 'same' | 'valid'; fanIn?: boolean }): Sym {
  const k = opts.kernel ?? 3;
  const fan = k * k * (opts.fanIn ? (x.shape[3] as number) : filters);
  return tf.layers.conv2d({
    name, filters, kernelSize: k, strides: opts.stride ?? 1, padding: opts.padding ?? 'same', useBias: opts.bias ?? false,
    kernelInitializer: opts.seeds.normal(Math.sqrt(2 / fan)),
  }).apply(x) as Sym;
}

export function batchNorm(x: Sym, name: string, gamma = 1): Sym {
  return new BatchNormalization({
    name, axis: -1, momentum: 0.9, epsilon: 1e-5, gammaInitializer: tf.initializers.constant({ value: gamma }),
  }).apply(x) as Sym;
}

export function relu(x: Sym, name: string): Sym {
  return new ReLU({ name }).apply(x) as Sym;
}

/** The sum of a residual block's branches (tf.layers' Add; it applies the ReLU after it in training: fused-relu.ts). */
export function residualAdd(branches: Sym[], name: string): Sym {
  return new Add({ name }).apply(branches) as Sym;
}

export function linear(x: Sym, name: string, units: number, seeds: SeedSequence): Sym {
  return tf.layers.dense({
    name, units,
    kernelInitializer: seeds.normal(0.01),
  }).apply(x) as Sym;
}

export function maxPool(x: Sym, name: string, size = 2, stride = size): Sym {
  return tf.layers.maxPooling2d({ name, poolSize: size, strides: stride, padding: 'valid' }).apply(x) as Sym;
}

export function avgPool(x: Sym, name: string, size: number, stride = size): Sym {
  return tf.layers.averagePooling2d({ name, poolSize: size, strides: stride, padding: 'valid' }).apply(x) as Sym;
}

export function flatten(x: Sym, name: string): Sym {
  return tf.layers.flatten({ name }).apply(x) as Sym;
}

/** Uniform(±1/√fan_in) weights and bias: PyTorch's default nn.Linear initialisation, which the seed keeps for fc layers. */
export function pytorchLinear(x: Sym, name: string, units: number, fanIn: number, seeds: SeedSequence): Sym {
  const bound = 1 / Math.sqrt(fanIn);
  return tf.layers.dense({
    name, units,
    kernelInitializer: seeds.uniform(bound),
    biasInitializer: seeds.uniform(bound),
  }).apply(x) as Sym;
}

/** N(0, √(2/fan_in)) weights and zero bias: init.kaiming_normal_, as SFP's ResNet initialises its fc. */
export function kaimingLinear(x: Sym, name: string, units: number, fanIn: number, seeds: SeedSequence): Sym {
  return tf.layers.dense({
    name, units,
    kernelInitializer: seeds.normal(Math.sqrt(2 / fanIn)),
  }).apply(x) as Sym;
}
