import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs';
import { AUTO_ENV, AUTO_PATHS, autoKey, chooseByMeasurement, describeChoice, measureInChild, type AutoPath } from './auto-choice';
import { NATIVE_ADDON, nativeAddonBuilt } from './kernels/native-conv';
import { registerTrainingKernels } from './kernels/register';
import { withWasmThreads } from './wasm-threads';

/** The compute backends we know (`--backend` names); `auto` tries them in autoOrder()'s order. */
export const BACKEND_ORDER = ['tfjs-node-gpu', 'tfjs-node', 'wasm', 'cpu'] as const;
export type BackendName = (typeof BACKEND_ORDER)[number];

/**
 * The order `auto` tries the backends: fastest training first, as `nx run core:bench` measured them on a 2-core
 * machine (VGG-16 CIFAR, batch 64): a GPU; wasm where its native oneDNN kernels are built (42 img/s); tfjs-node
 * (15); wasm alone (12); cpu.
 */
export function autoOrder(nativeKernelsBuilt = nativeAddonBuilt()): BackendName[] {
  return nativeKernelsBuilt ? ['tfjs-node-gpu', 'wasm', 'tfjs-node', 'cpu'] : ['tfjs-node-gpu', 'tfjs-node', 'wasm', 'cpu'];
}

export interface BackendInfo {
  /** Our name for it, as `--backend` takes it. */
  name: BackendName;
  /** tfjs's own name of the active backend (`tensorflow`, `wasm`, `cpu`). */
  tfjsBackend: string;
  threads: number;
  tfjsVersion: string;
  /** Set when wasm's convolutions run in the native oneDNN addon, e.g. `oneDNN 2.6.3`. */
  nativeConv?: string;
  /** How `auto` chose, where it measured (describeChoice). */
  autoChoice?: string;
  /**
   * tfjs-node-gpu only: where its kernels run. `GPU` when TensorFlow sees one; `no GPU visible: CPU kernels` when
   * it does not (no CUDA device, or a binding built on the CPU library: tools/tfjs-node-from-wheel.js --package
   * tfjs-node-gpu), which runs as tfjs-node would.
   */
  device?: string;
}

export interface InitOptions {
  /** The model family about to train: `auto` then measures the installed paths on it (once per machine, cached). */
  family?: string;
}

export class BackendError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'BackendError';
  }
}

export const BACKEND_ENV = 'RETHINK_PRUNE_BACKEND';
export const THREADS_ENV = 'RETHINK_PRUNE_THREADS';

let active: BackendInfo | undefined;
let nativeLoaded: 'tfjs-node-gpu' | 'tfjs-node' | undefined;

function threadsWanted(): number {
  const raw = process.env[THREADS_ENV];
  if (raw === undefined || raw === '') return os.cpus().length;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1) throw new BackendError(`${THREADS_ENV}=${raw} is not a positive integer`);
  return n;
}

/** Where tfjs-node's build puts its addon: lib/napi-v<N>/tfjs_binding.node, N chosen by node-pre-gyp. */
const BINDING_FILE = 'tfjs_binding.node';
/** Builds tfjs-node where its install cannot download libtensorflow. */
export const FROM_WHEEL_TOOL = 'node tools/tfjs-node-from-wheel.js';

/**
 * The built addon of `@tensorflow/<pkg>`, or undefined when the package or its addon is missing (npm keeps an
 * optional package whose build failed only with --ignore-scripts). Synchronous and cheap: loads nothing.
 */
export function nativeBindingFile(pkg: 'tfjs-node-gpu' | 'tfjs-node'): string | undefined {
  let libDir: string;
  try {
    libDir = path.join(path.dirname(require.resolve(`@tensorflow/${pkg}/package.json`)), 'lib');
  } catch {
    return undefined;
  }
  if (!fs.existsSync(libDir)) return undefined;
  const napiDir = fs.readdirSync(libDir).find((name) => fs.existsSync(path.join(libDir, name, BINDING_FILE)));
  return napiDir && path.join(libDir, napiDir, BINDING_FILE);
}

function installHint(pkg: 'tfjs-node-gpu' | 'tfjs-node'): string {
  const fromWheel = `, or offline from the tensorflow-cpu wheel: ${FROM_WHEEL_TOOL}${pkg === 'tfjs-node' ? ''
    : ' --package tfjs-node-gpu (CPU kernels only: for testing without a GPU)'}`;
  return `It is an optional dependency; install it on a machine that can download libtensorflow ` +
    `(npm install @tensorflow/${pkg}@${tf.version.tfjs})${fromWheel}.`;
}

async function initNative(pkg: 'tfjs-node-gpu' | 'tfjs-node'): Promise<BackendInfo> {
  if (nativeLoaded && nativeLoaded !== pkg) {
    throw new BackendError(`${pkg} cannot be loaded: ${nativeLoaded} is already loaded in this process (both register 'tensorflow')`);
  }
  // Checked before require: a package without its addon registers some kernels before it throws.
  if (!nativeLoaded && !nativeBindingFile(pkg)) {
    throw new BackendError(`backend ${pkg} is unavailable: @tensorflow/${pkg} or its ${BINDING_FILE} is not ` +
      `installed. ${installHint(pkg)}`);
  }
  // TensorFlow 2.21's oneDNN kernels corrupted the heap (glibc: "corrupted size vs. prev_size in fastbins") in our
  // conv-gradient tests on a Xeon with AVX-512 and AMX; its Eigen kernels pass them. Off unless the user chose.
  process.env.TF_ENABLE_ONEDNN_OPTS ??= '0';
  try {
    require(`@tensorflow/${pkg}`);
  } catch (e) {
    const why = (e as Error).message.split('\n')[0];
    throw new BackendError(`backend ${pkg} is unavailable: ${why}. ${installHint(pkg)}`);
  }
  nativeLoaded = pkg;
  if (!(await tf.setBackend('tensorflow'))) {
    throw new BackendError(`backend ${pkg} loaded but failed to initialise`);
  }
  registerTrainingKernels('tensorflow'); // the closed-form BN gradient, as on every other backend
  const onGpu = (tf.backend() as unknown as { isUsingGpuDevice?: boolean }).isUsingGpuDevice === true;
  const device = pkg === 'tfjs-node-gpu' ? { device: onGpu ? 'GPU' : 'no GPU visible: CPU kernels' } : {};
  return { name: pkg, tfjsBackend: 'tensorflow', threads: os.cpus().length, tfjsVersion: tf.version.tfjs, ...device };
}

async function initWasm(useNative = true): Promise<BackendInfo> {
  let wasm: typeof import('@tensorflow/tfjs-backend-wasm');
  try {
    wasm = require('@tensorflow/tfjs-backend-wasm');
  } catch (e) {
    throw new BackendError(`backend wasm is unavailable: ${(e as Error).message.split('\n')[0]}`);
  }
  const threads = threadsWanted();
  if (!tf.engine().registryFactory['wasm']) {
    throw new BackendError('backend wasm was shut down in this process (shutdownBackend) and cannot start again; use a new process');
  }
  const start = () => tf.setBackend('wasm');
  const ok = threads > 1 ? await withWasmThreads(tf, wasm.setThreadsCount, threads, start) : await start();
  if (!ok) throw new BackendError('backend wasm failed to initialise');
  const nativeConv = registerTrainingKernels('wasm', { useNative, threads });
  return { name: 'wasm', tfjsBackend: 'wasm', threads: wasm.getThreadsCount(), tfjsVersion: tf.version.tfjs,
    ...(nativeConv ? { nativeConv } : {}) };
}

async function initCpu(): Promise<BackendInfo> {
  if (!(await tf.setBackend('cpu'))) throw new BackendError('backend cpu failed to initialise');
  registerTrainingKernels('cpu');
  return { name: 'cpu', tfjsBackend: 'cpu', threads: 1, tfjsVersion: tf.version.tfjs };
}

const INIT: Record<BackendName, () => Promise<BackendInfo>> = {
  'tfjs-node-gpu': () => initNative('tfjs-node-gpu'),
  'tfjs-node': () => initNative('tfjs-node'),
  wasm: initWasm,
  cpu: initCpu,
};

/** The training paths installed here, in autoOrder()'s order: what `auto` measures. */
function installedPaths(): AutoPath[] {
  const native = nativeAddonBuilt();
  const has: Record<AutoPath, boolean> = { 'tfjs-node-gpu': nativeBindingFile('tfjs-node-gpu') !== undefined,
    'wasm+native': native, 'tfjs-node': nativeBindingFile('tfjs-node') !== undefined, wasm: true };
  return AUTO_PATHS.filter((p) => has[p]);
}

/** The file behind a path, by its change time: a rebuilt library is measured again. */
const builtAt = (file: string | undefined) => (file && fs.existsSync(file) ? fs.statSync(file).mtime.toISOString() : 'none');

/** `auto` with a family: the installed paths measured once (cached), the fastest started; undefined to fall back. */
async function measuredAuto(family: string): Promise<BackendInfo | undefined> {
  const candidates = installedPaths();
  if (candidates.length < 2) return undefined;
  const key = autoKey(family, threadsWanted(), { tfjs: tf.version.tfjs, 'onednn-addon': builtAt(NATIVE_ADDON),
    'tfjs-node': builtAt(nativeBindingFile('tfjs-node')), 'tfjs-node-gpu': builtAt(nativeBindingFile('tfjs-node-gpu')) });
  process.stderr.write(`auto: choosing the fastest training path for ${family} (measured once per machine and cached)\n`);
  const choice = chooseByMeasurement({ family, key, candidates, measure: (p) => measureInChild(p, family) });
  try {
    const info = choice.path === 'wasm+native' || choice.path === 'wasm'
      ? await initWasm(choice.path === 'wasm+native') : await INIT[choice.path]();
    return { ...info, autoChoice: describeChoice(choice) };
  } catch {
    return undefined; // it measured but does not start now: the fixed order decides
  }
}

/**
 * Selects and initialises the compute backend: the one named (by argument, else $RETHINK_PRUNE_BACKEND), or with
 * `auto` the fastest installed path measured on `options.family` (cached per machine; RETHINK_PRUNE_AUTO=order or no
 * family: the first of autoOrder() that works). A named backend that cannot start is an error.
 */
export async function initBackend(requested?: string, options: InitOptions = {}): Promise<BackendInfo> {
  const name = (requested ?? process.env[BACKEND_ENV] ?? 'auto').trim() || 'auto';
  if (active && (name === 'auto' || name === active.name)) return active;
  if (name !== 'auto' && !(BACKEND_ORDER as readonly string[]).includes(name)) {
    throw new BackendError(`unknown backend '${name}': choose one of auto, ${BACKEND_ORDER.join(', ')}`);
  }
  if (name === 'auto' && options.family && process.env[AUTO_ENV] !== 'order') {
    const measured = await measuredAuto(options.family);
    if (measured) return (active = measured);
  }
  const nativeExpected = name === 'auto' && nativeAddonBuilt();
  const candidates: BackendName[] = name === 'auto' ? autoOrder(nativeExpected) : [name as BackendName];
  const failures: string[] = [];
  for (const candidate of candidates) {
    try {
      active = await INIT[candidate]();
      if (candidate === 'wasm' && nativeExpected && !active.nativeConv) {
        // wasm came before tfjs-node for its native kernels, which did not load: tfjs-node beats wasm alone.
        const tfjsNode = await INIT['tfjs-node']().catch(() => undefined);
        if (tfjsNode) active = tfjsNode;
        else await tf.setBackend('wasm');
      }
      return active;
    } catch (e) {
      if (name !== 'auto') throw e;
      failures.push((e as Error).message);
    }
  }
  throw new BackendError(`no backend could start:\n  ${failures.join('\n  ')}`);
}

/** The backend initBackend chose, or undefined before it ran. */
export function activeBackend(): BackendInfo | undefined {
  return active;
}

/**
 * Releases the backend; wasm's pthread workers otherwise keep Node alive. Safe to call twice. Call it at the
 * end of a program: wasm cannot be started again in the same process afterwards.
 */
export function shutdownBackend(): void {
  if (tf.engine().registryFactory['wasm'] && tf.engine().registry['wasm']) tf.removeBackend('wasm');
  active = undefined;
}
