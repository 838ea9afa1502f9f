import * as tf from '@tensorflow/tfjs';

export interface LatencyOptions {
  /** Forward passes run and thrown away first (kernel set-up, caches). */
  warmup?: number;
  /** Timed forward passes; the median is reported. */
  repeats?: number;
}

const median = (xs: number[]) => {
  const sorted = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
};

/**
 * Measured inference latency of `model` on the active backend: the median wall time in milliseconds of one
 * forward pass over a batch of `batch` random inputs, read back to the CPU (so asynchronous backends finish).
 */
export function inferenceLatency(model: tf.LayersModel, batch: number, o: LatencyOptions = {}): number {
  const [, ...shape] = model.inputs[0].shape as number[];
  const input = tf.randomUniform([batch, ...shape], -1, 1, 'float32', 7);
  const pass = () => tf.tidy(() => (model.predict(input) as tf.Tensor).dataSync());
  try {
    for (let i = 0; i < (o.warmup ?? 2); i++) pass();
    const times = Array.from({ length: o.repeats ?? 7 }, () => {
      const started = performance.now();
      pass();
      return performance.now() - started;
    });
    return median(times);
  } finally {
    input.dispose();
  }
}
