import * as tf from '@tensorflow/tfjs';
import { afterAll } from 'vitest';
import { initBackend, shutdownBackend } from '../backend';

/** Backends every kernel test runs on, with the same body. */
export const TEST_BACKENDS = ['wasm', 'cpu'] as const;

/** Starts both test backends once per test file and releases them at its end. */
export async function setUpTestBackends(): Promise<void> {
  await initBackend('cpu');
  await initBackend('wasm');
  afterAll(() => shutdownBackend());
}

export async function useBackend(name: string): Promise<void> {
  if (!(await tf.setBackend(name))) throw new Error(`cannot switch to ${name}`);
}
