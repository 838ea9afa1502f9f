import { spawnSync } from 'child_process';
import * as tf from '@tensorflow/tfjs';
import { initBackend, shutdownBackend } from '../backend';
import { NATIVE_ENV, nativeConvUnavailableReason } from '../backend/kernels/native-conv';
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
 * linears only; a training step is counted as 3× the forward pass minus the first conv's (its input needs no
 * gradient).
 */

function forwardFlops(model: tf.LayersModel): { total: number; firstConv: number } {
  let total = 0;
  let firstConv = -1;
  for (const layer of model.layers) {
    const outputShape = layer.outputShape as number[];
    const kernel = layer.getWeights()[0];
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

/** The ten kernels a training step spends most time in, one line each. */
async function profileTrainingStep(spec: VggSpec): Promise<string> {
  const bench = benchModel(spec);
  bench.train();
  const profile = await tf.profile(() => { bench.train(); });
  bench.dispose();
  const msByKernel = new Map<string, number>();
  for (const kernel of profile.kernels) {
    msByKernel.set(kernel.name, (msByKernel.get(kernel.name) ?? 0) + Number(kernel.kernelTimeMs));
  }
  const totalMs = [...msByKernel.values()].reduce((sum, ms) => sum + ms, 0);
  return [...msByKernel.entries()].sort((first, second) => second[1] - first[1]).slice(0, 10)
    .map(([name, ms]) => `  ${name.padEnd(24)} ${ms.toFixed(0).padStart(6)} ms  ${percent(ms, totalMs)}%`)
    .join('\n');
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
  for (const name of args.models) {
    const [model, divisor = '1'] = name.split('/');
    console.log(await measure(`${name}-cifar`, narrowSpec(namedSpec(model), Number(divisor)), 'train', pathName, args.seconds));
  }
  if (args.profile) {
    console.log(`where a vgg16-cifar training step spends its time [${pathName}] (tf.profile):\n` +
      `${await profileTrainingStep(vgg16)}`);
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
