import { BATCH, benchModel } from '../bench/bench-model';
import { namedSpec } from '../spec';
import { narrowSpec } from '../widths';
import type { AutoPath } from './auto-choice';
import { initBackend, shutdownBackend } from './select';
import { setNativeConvEnabled } from './kernels/native-conv';

/** The model `auto` times for a family: the paper's CIFAR model of it, widths ÷4 (the study's scale). */
const FAMILY_MODELS: Record<string, string> = { vgg: 'vgg16', resnet: 'resnet56', preresnet: 'preresnet164', densenet: 'densenet40' };

/** Child process of measureInChild: `measure-path <path> <family> <seconds>` prints training images per second. */
async function main(): Promise<void> {
  const [candidate, family, seconds] = process.argv.slice(2) as [AutoPath, string, string];
  const backend = candidate === 'wasm+native' || candidate === 'wasm' ? 'wasm' : candidate;
  const info = await initBackend(backend);
  if (candidate === 'wasm+native' && !info.nativeConv) throw new Error('wasm+native unavailable: the oneDNN kernels did not load');
  // Without a GPU, tfjs-node-gpu runs tfjs-node's CPU kernels: measuring it would time tfjs-node again, and choosing it
  // would name a GPU path that has none.
  if (info.device && info.device !== 'GPU') throw new Error(`tfjs-node-gpu unavailable: ${info.device}`);
  setNativeConvEnabled(candidate === 'wasm+native');
  const bench = benchModel(narrowSpec(namedSpec(FAMILY_MODELS[family] ?? 'vgg16'), 4));
  const step = bench.train;
  step(); // warm-up: kernels, plans and heap
  let steps = 0;
  const start = Date.now();
  while (steps < 2 || Date.now() - start < 1000 * Number(seconds)) {
    step();
    steps++;
  }
  process.stdout.write(`${(steps * BATCH * 1000) / (Date.now() - start)}\n`);
  bench.dispose();
  shutdownBackend();
}

main().catch((e: Error) => {
  process.stderr.write(`${e.message}\n`);
  process.exit(1);
});
