import type * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initBackend, shutdownBackend } from '../backend';
import { buildModel } from '../spec';
import { TINY_SPEC } from '../test-util/tiny-run';
import { inferenceLatencies } from './latency';

beforeAll(async () => { await initBackend('cpu'); });
afterAll(() => shutdownBackend());

/** Records which model ran each forward pass, and on what batch. */
function recorded(model: tf.LayersModel, name: string, log: string[]): tf.LayersModel {
  const predict = model.predict.bind(model);
  model.predict = ((x: tf.Tensor) => { log.push(`${name}:${x.shape[0]}`); return predict(x); }) as typeof model.predict;
  return model;
}

describe('inferenceLatencies', () => {
  it('warms every model up, then times them in turns (no model always goes first on a warm cache)', async () => {
    const log: string[] = [];
    const models = [recorded(buildModel(TINY_SPEC, 1), 'a', log), recorded(buildModel(TINY_SPEC, 2), 'b', log)];
    const times = await inferenceLatencies(models, 3, { warmup: 2, repeats: 3 });
    // 2 warm-up rounds, then 3 timed rounds, each a then b, on a batch of 3 inputs of the model's shape.
    expect(log).toEqual(Array.from({ length: 5 }, () => ['a:3', 'b:3']).flat());
    expect(times).toHaveLength(2);
    for (const t of times) expect(t).toBeGreaterThan(0);
    models.forEach((m) => m.dispose());
  });
});
