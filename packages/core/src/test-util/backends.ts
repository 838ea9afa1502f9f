import * as tf from '@tensorflow/tfjs';
import { afterAll } from 'vitest';
import { initBackend, shutdownBackend } from '../backend';
import { nativeAddonBuilt, setNativeConvEnabled } from '../backend/kernels/native-conv';
import { FROM_WHEEL_TOOL, nativeBindingFile } from '../backend/select';

/** Whether this checkout built the optional native convolutions (scripts/build-native.js). */
export const NATIVE_BUILT = nativeAddonBuilt();

/** `1`: tfjs-node must be tested (CI sets it once built), `0`: leave it out; unset: test it where built. */
export const TFJS_NODE_TEST_ENV = 'RETHINK_PRUNE_TEST_TFJS_NODE';

export class TestBackendError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'TestBackendError';
  }
}

function tfjsNodeWanted(): boolean {
  const setting = process.env[TFJS_NODE_TEST_ENV];
  const built = nativeBindingFile('tfjs-node') !== undefined;
  if (setting === '1' && !built) {
    throw new TestBackendError(`test-util/backends.ts: ${TFJS_NODE_TEST_ENV}=1 but @tensorflow/tfjs-node ` +
      `has no built binding; build it with ${FROM_WHEEL_TOOL}, or unset ${TFJS_NODE_TEST_ENV} to test without it`);
  }
  return built && setting !== '0';
}

/** Whether tests run on tfjs-node too: its binding is built (tools/tfjs-node-from-wheel.js or npm install). */
export const TFJS_NODE_BUILT = tfjsNodeWanted();

export type TestBackend = 'wasm' | 'wasm+native' | 'cpu' | 'tfjs-node';

/**
 * Backends every kernel test runs on, with the same body: `wasm` with our composed kernels only,
 * `wasm+native` with the oneDNN convolutions where they are built, `cpu`, and `tfjs-node` where it is built.
 */
export const TEST_BACKENDS: readonly TestBackend[] = [
  'wasm',
  ...(NATIVE_BUILT ? (['wasm+native'] as const) : []),
  'cpu',
  ...(TFJS_NODE_BUILT ? (['tfjs-node'] as const) : []),
];

/** Starts the test backends once per test file and releases them at its end. */
export async function setUpTestBackends(): Promise<void> {
  await initBackend('cpu');
  if (TFJS_NODE_BUILT) await initBackend('tfjs-node');
  await initBackend('wasm');
  afterAll(() => shutdownBackend());
}

/** tfjs's name of each test backend. */
const TFJS_NAME: Record<TestBackend, string> =
  { wasm: 'wasm', 'wasm+native': 'wasm', cpu: 'cpu', 'tfjs-node': 'tensorflow' };

export async function useBackend(name: string): Promise<void> {
  setNativeConvEnabled(name === 'wasm+native', 0); // every conv, however small, to oneDNN
  const tfjsName = TFJS_NAME[name as TestBackend] ?? name;
  if (!(await tf.setBackend(tfjsName))) throw new Error(`cannot switch to ${name}`);
}
