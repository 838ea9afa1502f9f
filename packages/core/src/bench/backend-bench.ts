import { spawnSync } from 'child_process';
import * as tf from '@tensorflow/tfjs';
import { initBackend, shutdownBackend } from '../backend';
import { NATIVE_ENV, nativeConvUnavailableReason } from '../backend/kernels/native-conv';
import { ChannelSelection } from '../models/channel-selection';
import { VGG_CFGS, type VggSpec } from '../models/vgg';
import { namedSpec, type ArchSpec } from '../spec';
import { narrowSpec } from '../widths';
import { benchModel, BATCH } from './bench-model';
import {
  BENCH_PATH_NAMES, BENCH_PATHS, BENCH_USAGE, BenchPathError, installedParts, parseBenchArgs,
  pathUnavailableReason, type BenchArgs, type BenchPathName,
} from './bench-paths';
import { loaderBench } from './loader-bench';

/**
 * `nx run core:bench`: training and inference throughput on CIFAR VGGs for each CPU path (bench-paths.ts),
 * one child process per path, then the loader. GFLOP/s counts 2 FLOPs per multiply-add of the convs and
 * linears only (not the channel selections, which copy channels); a training step is counted as 3× the forward
 * pass minus the first conv's (its input needs no gradient).
 */

function forwardFlops(model: tf.LayersModel): { total: number; firstConv: number } {
  let total = 0;
  let firstConv = -1;
  for (const layer of model.layers) {
    const outputShape = layer.outputShape as number[];
    const kernel = layer.getWeights()[0];
    if (layer instanceof ChannelSelection) continue; // copies channels; plain tfjs would run it as a 1×1 conv
    if (layer.getClassName() === 'Conv2D') {
      const convFlops = 2 * kernel.size * outputShape[1] * outputShape[2];
      if (firstConv < 0) firstConv = convFlops;
      total += convFlops;
    } else if (layer.getClassName() === 'Dense') {
      total += 2 * kernel.size;
    }
  }
  return { total, firstConv: Math.max(firstConv, 0) };
}

async function measure(
  label: string, spec: ArchSpec, mode: 'train' | 'infer', path: BenchPathName, seconds: number,
): Promise<string> {
  const bench = benchModel(spec);
  const { total, firstConv } = forwardFlops(bench.model);
  const flopsPerImage = mode === 'train' ? 3 * total - firstConv : total;
  const step = bench[mode];
  step();
  step(); // warm-up: operator creation and heap growth
  const stepSeconds: number[] = [];
  const start = Date.now();
  while (stepSeconds.length < 3 || (Date.now() - start) / 1000 < seconds) {
    const stepStart = process.hrtime.bigint();
    step();
    stepSeconds.push(Number(process.hrtime.bigint() - stepStart) / 1e9);
  }
  bench.dispose();
  stepSeconds.sort((first, second) => first - second);
  const imagesPerSecond = BATCH / stepSeconds[Math.floor(stepSeconds.length / 2)];
  const gflops = (imagesPerSecond * flopsPerImage) / 1e9;
  return `${label} ${mode} batch${BATCH} [${path}]: ${imagesPerSecond.toFixed(1)} img/s, ` +
    `${gflops.toFixed(1)} GFLOP/s`;
}

const percent = (part: number, whole: number) => ((100 * part) / whole).toFixed(1);

/**
 * Where a training step spends its time: the ten kernels that take most (tf.profile), and how much of an unprofiled
 * step's wall time no kernel accounts for (JS dispatch, the tape, tensor allocation and disposal).
 */
async function profileTrainingStep(spec: ArchSpec): Promise<string> {
  const bench = benchModel(spec);
  bench.train();
  const wallMs: number[] = [];
  for (let i = 0; i < 3; i++) {
    const start = process.hrtime.bigint();
    bench.train();
    wallMs.push(Number(process.hrtime.bigint() - start) / 1e6);
  }
  const profile = await tf.profile(() => { bench.train(); });
  bench.dispose();
  const msByKernel = new Map<string, { ms: number; calls: number }>();
  // A composite op (a custom gradient's forward: `fusedConv2d__op`, `unnamed scope`) is logged around the kernels it
  // runs, which are logged too: only registered kernels count.
  const backend = tf.getBackend();
  const kernels = profile.kernels.filter((kernel) => tf.getKernel(kernel.name, backend) !== undefined);
  for (const kernel of kernels) {
    const entry = msByKernel.get(kernel.name) ?? { ms: 0, calls: 0 };
    msByKernel.set(kernel.name, { ms: entry.ms + Number(kernel.kernelTimeMs), calls: entry.calls + 1 });
  }
  const kernelMs = [...msByKernel.values()].reduce((sum, { ms }) => sum + ms, 0);
  const stepMs = wallMs.sort((a, b) => a - b)[1];
  const calls = kernels.length;
  return [...[...msByKernel.entries()].sort((first, second) => second[1].ms - first[1].ms).slice(0, 10)
    .map(([name, { ms, calls: n }]) =>
      `  ${name.padEnd(24)} ${ms.toFixed(0).padStart(6)} ms  ${percent(ms, kernelMs).padStart(5)}%  ${String(n).padStart(5)} calls`),
  `  a step: ${stepMs.toFixed(0)} ms wall (median of 3), ${kernelMs.toFixed(0)} ms in ${calls} kernel calls ` +
    `(${percent(kernelMs, stepMs)}%); outside kernels ${Math.max(stepMs - kernelMs, 0).toFixed(0)} ms ` +
    `(${(Math.max(stepMs - kernelMs, 0) * 1000 / calls).toFixed(0)} µs per call)`].join('\n');
}

/** A `--models` entry: a named spec, narrowed by its optional divisor (`resnet56/4`). */
function modelSpec(name: string): ArchSpec {
  const [model, divisor = '1'] = name.split('/');
  return narrowSpec(namedSpec(model), Number(divisor));
}

/** Peak resident memory of this process so far, in MB (10^6 bytes); Node reports kilobytes. */
function peakRssMb(): number {
  return (process.resourceUsage().maxRSS * 1024) / 1e6;
}

/** The child: measures one path in this process and prints its lines and its peak RSS on stdout. */
async function benchOnePath(pathName: BenchPathName, args: BenchArgs): Promise<void> {
  const path = BENCH_PATHS[pathName];
  // Read when the wasm kernels register, so it must be settled before initBackend.
  if (path.nativeConv) delete process.env[NATIVE_ENV];
  else process.env[NATIVE_ENV] = '0';
  const info = await initBackend(path.backend);
  if (path.nativeConv && !info.nativeConv) {
    const why = nativeConvUnavailableReason();
    throw new BenchPathError(`--path=${pathName}: native convolutions are not in use (${why}); ` +
      'rebuild them with npx nx run core:build-native');
  }
  process.stderr.write(`[${pathName}] backend ${info.name} (${info.threads} threads), ` +
    `tfjs ${info.tfjsVersion}, convolutions: ${info.nativeConv ?? `${info.name}'s own`}\n`);
  const vgg16: VggSpec = { arch: 'vgg', dataset: 'cifar10', cfg: VGG_CFGS[16], classifier: 'linear' };
  const small: VggSpec = { ...vgg16, cfg: [64, 'M', 128, 'M', 256, 'M'] };
  // VGG-16 training first: it sets the peak RSS, the figure to compare with PyTorch's.
  for (const [label, spec] of [['vgg16-cifar', vgg16], ['vgg-small-cifar', small]] as const) {
    for (const mode of ['train', 'infer'] as const) {
      console.log(await measure(label, spec, mode, pathName, args.seconds));
    }
  }
  console.log(`peak RSS [${pathName}]: ${peakRssMb().toFixed(0)} MB`);
  for (const name of args.models) console.log(await measure(`${name}-cifar`, modelSpec(name), 'train', pathName, args.seconds));
  if (args.profile) {
    const profiled: Array<[string, ArchSpec]> = [['vgg16-cifar', vgg16],
      ...args.models.map((name): [string, ArchSpec] => [`${name}-cifar`, modelSpec(name)])];
    for (const [label, spec] of profiled) {
      console.log(`where a ${label} training step spends its time [${pathName}] (tf.profile):\n` +
        `${await profileTrainingStep(spec)}`);
    }
  }
}

/** The parent: one child process per path, one after the other so they never share the cores. */
function benchEveryPath(args: BenchArgs, forwarded: string[]): void {
  const installed = installedParts();
  const chosen = args.paths ?? [...BENCH_PATH_NAMES];
  for (const pathName of chosen) {
    const missing = pathUnavailableReason(pathName, installed);
    if (missing) {
      process.stderr.write(`[${pathName}] not measured: ${missing}\n`);
      if (args.paths) process.exitCode = 1; // named on the command line, so its absence is a failure
      continue;
    }
    const childArgs = [__filename, `--path=${pathName}`, ...forwarded];
    const child = spawnSync(process.execPath, childArgs, { stdio: 'inherit' });
    if (child.status !== 0) {
      process.stderr.write(`[${pathName}] failed (exit ${child.status ?? child.signal})\n`);
      process.exitCode = 1;
    }
  }
  console.log(loaderBench(Math.min(Math.max(args.seconds, 1), 5))); // at least 1 s: 0 would measure nothing
}

async function main(): Promise<void> {
  const argv = process.argv.slice(2);
  const args = parseBenchArgs(argv);
  if (args.help) {
    console.log(BENCH_USAGE);
    return;
  }
  if (args.childPath) return benchOnePath(args.childPath, args);
  benchEveryPath(args, argv.filter((arg) => !arg.startsWith('--paths=')));
}

main()
  .catch((error) => {
    console.error(error instanceof Error ? error.message : error);
    process.exitCode = 1;
  })
  .finally(() => shutdownBackend());
