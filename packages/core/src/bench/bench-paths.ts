import * as fs from 'fs';
import type { BackendName } from '../backend';
import { NATIVE_ADDON } from '../backend/kernels/native-conv';
import { FROM_WHEEL_TOOL, nativeBindingFile } from '../backend/select';

/**
 * The CPU paths `nx run core:bench` compares. Each runs in its own process, so backends never mix and each
 * path's peak RSS is its own.
 */
export const BENCH_PATH_NAMES = ['wasm', 'wasm+onednn', 'tfjs-node'] as const;
export type BenchPathName = (typeof BENCH_PATH_NAMES)[number];

export interface BenchPath {
  name: BenchPathName;
  backend: BackendName;
  /** Whether wasm's convolutions go to the oneDNN addon (meaningless for tfjs-node). */
  nativeConv: boolean;
}

export const BENCH_PATHS: Record<BenchPathName, BenchPath> = {
  wasm: { name: 'wasm', backend: 'wasm', nativeConv: false },
  'wasm+onednn': { name: 'wasm+onednn', backend: 'wasm', nativeConv: true },
  'tfjs-node': { name: 'tfjs-node', backend: 'tfjs-node', nativeConv: false },
};

/** What is installed, as the bench sees it; tests pass their own. */
export interface InstalledParts {
  onednnAddon: boolean;
  tfjsNodeBinding: boolean;
}

export function installedParts(): InstalledParts {
  return {
    onednnAddon: fs.existsSync(NATIVE_ADDON),
    tfjsNodeBinding: nativeBindingFile('tfjs-node') !== undefined,
  };
}

/** Why `path` cannot run here (with the command that fixes it), or undefined when it can. */
export function pathUnavailableReason(path: BenchPathName, installed: InstalledParts): string | undefined {
  if (path === 'wasm+onednn' && !installed.onednnAddon) {
    return `${NATIVE_ADDON} is not built (apt-get install libdnnl-dev, then npx nx run core:build-native)`;
  }
  if (path === 'tfjs-node' && !installed.tfjsNodeBinding) {
    return "@tensorflow/tfjs-node's binding is not built " +
      `(npm install @tensorflow/tfjs-node, or offline: ${FROM_WHEEL_TOOL})`;
  }
  return undefined;
}

/** A bench command line that cannot be run as written. */
export class BenchArgsError extends Error {
  constructor(message: string) {
    super(`bench/bench-paths.ts: ${message}`);
    this.name = 'BenchArgsError';
  }
}

/** A path that was asked for but cannot be measured as it is installed. */
export class BenchPathError extends Error {
  constructor(message: string) {
    super(`bench/backend-bench.ts: ${message}`);
    this.name = 'BenchPathError';
  }
}

export interface BenchArgs {
  /** Set in the child process that measures one path. */
  childPath?: BenchPathName;
  /** The paths asked for with --paths; undefined means every available one. */
  paths?: BenchPathName[];
  seconds: number;
  profile: boolean;
  help: boolean;
  /** The deep CIFAR models also trained (`resnet56`, `resnet56/4`: a named spec, widths ÷ the divisor). */
  models: string[];
}

/**
 * The deep CIFAR nets trained by default: ResNet-56 full width and ÷4, where per-op costs, not arithmetic, set the
 * speed. DenseNet-40 and PreResNet-164 (`--models=densenet40,densenet40/4,preresnet164`) take minutes per path on
 * wasm alone, so they are asked for by name.
 */
export const DEEP_MODELS = ['resnet56', 'resnet56/4'];

export const BENCH_USAGE = `usage: node dist/bench/backend-bench.js [--paths=a,b] [--seconds=8] [--profile] [--models=a,b/4]
  Measures VGG training and inference throughput on each CPU path (${BENCH_PATH_NAMES.join(', ')}), one
  child process per path, and the peak memory (RSS) of each. Without --paths, every path installed here;
  a path named in --paths but not installed is an error.
  --path=<one>  measure one path in this process (what each child runs)
  --seconds=N   minimum measuring time per model and mode (default 8)
  --profile     also print where a training step of VGG-16 and of each --models entry spends its time
                (tf.profile: the top kernels, and the share of the step no kernel accounts for), per path
  --models=…    deep CIFAR models also trained, a named spec with an optional width divisor
                (default ${DEEP_MODELS.join(',')}; also densenet40, densenet40/4, preresnet164; --models= for VGG only)`;

function pathName(raw: string, flag: string): BenchPathName {
  if ((BENCH_PATH_NAMES as readonly string[]).includes(raw)) return raw as BenchPathName;
  throw new BenchArgsError(`${flag}: unknown path '${raw}'; choose from ${BENCH_PATH_NAMES.join(', ')}`);
}

export function parseBenchArgs(argv: string[]): BenchArgs {
  const args: BenchArgs = { seconds: 8, profile: false, help: false, models: DEEP_MODELS };
  for (const arg of argv) {
    const equals = arg.indexOf('=');
    const [flag, value] = equals < 0 ? [arg, ''] : [arg.slice(0, equals), arg.slice(equals + 1)];
    if (flag === '--help') args.help = true;
    else if (flag === '--profile') args.profile = true;
    else if (flag === '--path') args.childPath = pathName(value, flag);
    else if (flag === '--paths') args.paths = value.split(',').map((name) => pathName(name.trim(), flag));
    else if (flag === '--models') args.models = value.split(',').map((name) => name.trim()).filter(Boolean);
    else if (flag === '--seconds') {
      args.seconds = Number(value);
      const valid = value !== '' && args.seconds >= 0; // Number('') is 0 and Number('x') NaN
      if (!valid) throw new BenchArgsError(`--seconds=${value}: give a number of seconds ≥ 0`);
    } else throw new BenchArgsError(`unknown option '${arg}'; see --help`);
  }
  return args;
}
