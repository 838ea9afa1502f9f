import * as tf from '@tensorflow/tfjs';
import { median } from '../stats';

export interface LatencyOptions {
  /** Forward passes of every model run and thrown away first (kernel set-up, caches). */
  warmup?: number;
  /** Timed forward passes of each model; the median is reported. */
  repeats?: number;
}

/**
 * Measured inference latency of each model on the active backend: the median wall time in milliseconds of one
 * forward pass over a batch of `batch` random inputs, read back to the CPU (so asynchronous backends finish).
 * The models are warmed up first and then timed in turns, so that neither gains from going second (warm caches)
 * or loses to drift of the machine: two copies of one model measure the same.
 */
export async function inferenceLatencies(models: tf.LayersModel[], batch: number, o: LatencyOptions = {}): Promise<number[]> {
  const [, ...shape] = models[0].inputs[0].shape as number[];
  const input = tf.randomUniform([batch, ...shape], -1, 1, 'float32', 7);
  // Each pass is timed alone; between passes the event loop runs (a batch of 64 ImageNet images takes seconds).
  const pass = async (model: tf.LayersModel) => {
    await new Promise((resolve) => setImmediate(resolve));
    const started = performance.now();
    tf.tidy(() => (model.predict(input) as tf.Tensor).dataSync());
    return performance.now() - started;
  };
  try {
    for (let i = 0; i < (o.warmup ?? 2); i++) for (const model of models) await pass(model);
    const times: number[][] = models.map(() => []);
    for (let i = 0; i < (o.repeats ?? 7); i++) {
      for (const [m, model] of models.entries()) times[m].push(await pass(model));
    }
    return times.map(median);
  } finally {
    input.dispose();
  }
}
