import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { Worker as NodeWorker, type WorkerOptions } from 'worker_threads';

/**
 * Lets the tfjs wasm backend run its XNNPACK thread pool under Node.
 *
 * tfjs-backend-wasm 4.22 turns threads off under Node (tfjs issue #3830) because emscripten starts its
 * pthread workers from `blob:` URLs, which Node's Worker cannot load, and it sizes the pool at half the
 * logical cores. Here the worker script and the module script are plain files, and the pool gets every core.
 */

const WASM_PKG_DIR = path.dirname(require.resolve('@tensorflow/tfjs-backend-wasm/package.json'));
const MAIN_SCRIPT = path.join(WASM_PKG_DIR, 'wasm-out', 'tfjs-backend-wasm-threaded-simd.js');

let workerFile: string | undefined;

/** The pthread worker source, written once per package version into the temp directory. */
function pthreadWorkerFile(): string {
  if (workerFile) return workerFile;
  const version: string = require('@tensorflow/tfjs-backend-wasm/package.json').version;
  const source: string = require(path.join(WASM_PKG_DIR, 'wasm-out', 'tfjs-backend-wasm-threaded-simd.worker.js'))
    .wasmWorkerContents;
  const file = path.join(os.tmpdir(), `rethink-prune-wasm-${version}-${process.getuid?.() ?? 0}.worker.js`);
  // The source holds "\n" escapes that must stay escaped in the file, as tfjs does for its Blob.
  const text = source.replace(/\n/g, '\\n');
  if (!fs.existsSync(file) || fs.readFileSync(file, 'utf8') !== text) {
    const tmp = `${file}.${process.pid}.tmp`;
    fs.writeFileSync(tmp, text);
    fs.renameSync(tmp, file);
  }
  workerFile = file;
  return file;
}

class FileBackedWorker extends NodeWorker {
  constructor(url: string | URL, options?: WorkerOptions) {
    super(typeof url === 'string' && url.startsWith('blob:') ? pthreadWorkerFile() : url, options);
  }
  postMessage(message: unknown, transfer?: readonly any[]): void {
    const m = message as { cmd?: string; urlOrBlob?: unknown } | null;
    if (m && m.cmd === 'load' && typeof m.urlOrBlob !== 'string') {
      super.postMessage({ ...m, urlOrBlob: MAIN_SCRIPT }, transfer as any);
    } else {
      super.postMessage(message, transfer as any);
    }
  }
}

/**
 * Runs `init` (which must create the wasm backend) with threads enabled and `threads` workers.
 * Returns whatever `init` returns.
 */
export async function withWasmThreads<T>(
  tf: { env(): { set(flag: string, value: unknown): void } },
  setThreadsCount: (n: number) => void,
  threads: number,
  init: () => Promise<T>,
): Promise<T> {
  pthreadWorkerFile();
  // emscripten assigns `globalThis.Worker = worker_threads.Worker` on start-up; keep ours in place.
  Object.defineProperty(globalThis, 'Worker', {
    configurable: true,
    get: () => FileBackedWorker,
    set: () => undefined,
  });
  tf.env().set('WASM_HAS_MULTITHREAD_SUPPORT', true);
  setThreadsCount(threads);
  // The C++ side caps the pool at os.cpus().length / 2; report twice the cores while it starts.
  // The module object itself (not an import namespace), which the wasm bundle calls.
  const nodeOs: { cpus: typeof os.cpus } = require('os');
  const realCpus = nodeOs.cpus;
  nodeOs.cpus = () => {
    const c = realCpus();
    return c.concat(c);
  };
  try {
    return await init();
  } finally {
    nodeOs.cpus = realCpus;
  }
}
