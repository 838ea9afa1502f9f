import * as tf from '@tensorflow/tfjs';
import { initBackend, shutdownBackend } from '../backend';
import { nativeConvUnavailableReason } from '../backend/kernels/native-conv';
import { buildVgg, VGG_CFGS, type VggSpec } from '../models/vgg';
import { loaderBench } from './loader-bench';

/**
 * `nx run core:bench`: training and inference throughput of the active backend on CIFAR VGGs.
 * GFLOP/s counts 2 FLOPs per multiply-add of the convs and linears only; a training step is counted as
 * 3× the forward pass minus the first conv's (its input needs no gradient).
 */
const BATCH = 64;

function forwardFlops(model: tf.LayersModel): { total: number; firstConv: number } {
  let total = 0;
  let firstConv = -1;
  for (const layer of model.layers) {
    const out = layer.outputShape as number[];
    const w = layer.getWeights()[0];
    if (layer.getClassName() === 'Conv2D') {
      const f = 2 * w.size * out[1] * out[2];
      if (firstConv < 0) firstConv = f;
      total += f;
    } else if (layer.getClassName() === 'Dense') {
      total += 2 * w.size;
    }
  }
  return { total, firstConv: Math.max(firstConv, 0) };
}

async function measure(label: string, spec: VggSpec, mode: 'train' | 'infer', seconds: number): Promise<string> {
  const model = buildVgg(spec, 1);
  const { total, firstConv } = forwardFlops(model);
  const flopsPerImage = mode === 'train' ? 3 * total - firstConv : total;
  const optimizer = tf.train.momentum(0.01, 0.9);
  const x = tf.randomNormal([BATCH, 32, 32, 3]);
  const y = tf.oneHot(tf.randomUniform([BATCH], 0, 10, 'int32') as tf.Tensor1D, 10);
  const step = () => tf.tidy(() => {
    if (mode === 'infer') return (model.predict(x) as tf.Tensor).dataSync();
    const loss = optimizer.minimize(
      () => tf.losses.softmaxCrossEntropy(y, model.apply(x, { training: true }) as tf.Tensor) as tf.Scalar, true);
    return loss!.dataSync();
  });
  step();
  step(); // warm-up: operator creation and heap growth
  const times: number[] = [];
  const start = Date.now();
  while (times.length < 3 || (Date.now() - start) / 1000 < seconds) {
    const t = process.hrtime.bigint();
    step();
    times.push(Number(process.hrtime.bigint() - t) / 1e9);
  }
  times.sort((a, b) => a - b);
  const median = times[Math.floor(times.length / 2)];
  tf.dispose([x, y]);
  model.dispose();
  optimizer.dispose();
  const imgs = BATCH / median;
  return `${label} ${mode} batch${BATCH}: ${imgs.toFixed(1)} img/s, ${((imgs * flopsPerImage) / 1e9).toFixed(1)} GFLOP/s`;
}

async function profileTrainingStep(spec: VggSpec): Promise<string> {
  const model = buildVgg(spec, 1);
  const optimizer = tf.train.momentum(0.01, 0.9);
  const x = tf.randomNormal([BATCH, 32, 32, 3]);
  const y = tf.oneHot(tf.randomUniform([BATCH], 0, 10, 'int32') as tf.Tensor1D, 10);
  const step = () => tf.tidy(() => optimizer.minimize(
    () => tf.losses.softmaxCrossEntropy(y, model.apply(x, { training: true }) as tf.Tensor) as tf.Scalar, true)!.dataSync());
  step();
  const info = await tf.profile(() => { step(); });
  const byKernel = new Map<string, number>();
  for (const k of info.kernels) byKernel.set(k.name, (byKernel.get(k.name) ?? 0) + Number(k.kernelTimeMs));
  const total = [...byKernel.values()].reduce((a, b) => a + b, 0);
  tf.dispose([x, y]);
  model.dispose();
  return [...byKernel.entries()].sort((a, b) => b[1] - a[1]).slice(0, 10)
    .map(([name, ms]) => `  ${name.padEnd(24)} ${ms.toFixed(0).padStart(6)} ms  ${((100 * ms) / total).toFixed(1)}%`).join('\n');
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const backendArg = args.find((a) => a.startsWith('--backend='))?.split('=')[1];
  const seconds = Number(args.find((a) => a.startsWith('--seconds='))?.split('=')[1] ?? 8);
  const info = await initBackend(backendArg);
  process.stderr.write(`backend ${info.name} (${info.threads} threads), tfjs ${info.tfjsVersion}, convolutions: ` +
    `${info.nativeConv ?? `${info.name}'s own (native oneDNN: ${nativeConvUnavailableReason() ?? 'n/a'})`}\n`);
  const vgg16: VggSpec = { arch: 'vgg', dataset: 'cifar10', cfg: VGG_CFGS[16], classifier: 'linear' };
  const small: VggSpec = { arch: 'vgg', dataset: 'cifar10', cfg: [64, 'M', 128, 'M', 256, 'M'], classifier: 'linear' };
  for (const [label, spec] of [['vgg16-cifar', vgg16], ['vgg-small-cifar', small]] as const) {
    for (const mode of ['train', 'infer'] as const) console.log(await measure(label, spec, mode, seconds));
  }
  console.log(loaderBench(Math.min(seconds, 5)));
  if (args.includes('--profile')) console.log(`where a vgg16-cifar training step spends its time (tf.profile):\n${await profileTrainingStep(vgg16)}`);
}

main()
  .catch((e) => {
    console.error(e instanceof Error ? e.message : e);
    process.exitCode = 1;
  })
  .finally(() => shutdownBackend());
