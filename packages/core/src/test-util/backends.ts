import * as fs from 'fs';
import * as tf from '@tensorflow/tfjs';
import { afterAll } from 'vitest';
import { initBackend, shutdownBackend } from '../backend';
import { NATIVE_ADDON, NATIVE_ENV, setNativeConvEnabled } from '../backend/kernels/native-conv';

/** Whether this checkout built the optional native convolutions (scripts/build-native.js). */
export const NATIVE_BUILT = fs.existsSync(NATIVE_ADDON) && process.env[NATIVE_ENV] !== '0';

/**
 * Backends every kernel test runs on, with the same body: `wasm` with our composed kernels only, and
 * `wasm+native` with the oneDNN convolutions where they are built.
 */
export const TEST_BACKENDS = NATIVE_BUILT ? (['wasm', 'wasm+native', 'cpu'] as const) : (['wasm', 'cpu'] as const);

/** Starts both test backends once per test file and releases them at its end. */
export async function setUpTestBackends(): Promise<void> {
  await initBackend('cpu');
  await initBackend('wasm');
  afterAll(() => shutdownBackend());
}

export async function useBackend(name: string): Promise<void> {
  setNativeConvEnabled(name === 'wasm+native', 0); // every conv, however small, to oneDNN
  const tfjsName = name === 'wasm+native' ? 'wasm' : name;
  if (!(await tf.setBackend(tfjsName))) throw new Error(`cannot switch to ${name}`);
}
