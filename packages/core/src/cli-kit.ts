import { BACKEND_ORDER, initBackend, type BackendInfo } from './backend';

/**
 * What every command line of the project shares (the method CLIs, lottery tickets', `rethink-prune-model`, the
 * queue's `rethink-prune`): the usage error and its exit code, and the `--backend` option started and reported alike.
 */

/** A mistake in the command line: printed with a pointer to --help, exit code 2. */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

export const USAGE_EXIT_CODE = 2;

/** `--backend` values: auto or one of the backends. */
export const BACKEND_NAMES: readonly string[] = ['auto', ...BACKEND_ORDER];

/** An unknown `--backend` is a usage error (checked before anything starts). */
export function checkBackendName(name: string | undefined): void {
  if (name !== undefined && !BACKEND_NAMES.includes(name)) {
    throw new UsageError(`unknown backend '${name}'; choose one of ${BACKEND_NAMES.join(', ')}`);
  }
}

/** `backend wasm, 2 threads, convolutions in oneDNN 2.6.3 (auto chose …)`, `backend tfjs-node-gpu (no GPU visible: …)`. */
export function describeBackend(info: BackendInfo): string {
  const device = info.device ? ` (${info.device})` : '';
  const native = info.nativeConv ? `, convolutions in ${info.nativeConv}` : '';
  const why = info.autoChoice ? ` (${info.autoChoice})` : '';
  return `backend ${info.name}${device}, ${info.threads} threads${native}${why}`;
}

/** Starts `--backend` and says which on stderr as `<command>: backend …`; `auto` measures the paths on `family`. */
export async function startBackend(command: string, name: string | undefined, family?: string): Promise<BackendInfo> {
  checkBackendName(name);
  const info = await initBackend(name, family ? { family } : {});
  process.stderr.write(`${command}: ${describeBackend(info)}\n`);
  return info;
}
