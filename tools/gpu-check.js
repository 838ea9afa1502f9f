#!/usr/bin/env node
// @ts-check
'use strict';
// The GPU path, measured where there is a GPU: installs @rethink-prune/core (packed from this workspace) with
// @tensorflow/tfjs-node-gpu from the registry the way a user would (its install downloads the CUDA build of
// libtensorflow), then trains one epoch of the paper profile's VGG-16 and ResNet-56 (full width, batch 64) on
// CIFAR-sized random data and prints img/s and the GPU's peak memory (nvidia-smi, sampled every 100 ms).
const { spawn, spawnSync } = require('child_process');
const fs = require('fs');
const os = require('os');
const path = require('path');

const USAGE = `Usage: node tools/gpu-check.js [--images N] [--models vgg16,resnet56] [--keep]

Needs an NVIDIA GPU with its driver (nvidia-smi), network access to the npm registry, and a built workspace
(npx nx run core:build). Installs into a temporary folder (--keep leaves it), trains --images random 32×32×3
images per model (default 50000: one CIFAR epoch) and prints, per model: img/s, seconds, peak GPU memory (MiB).
Exit codes: 0 measured; 2 usage; 3 no NVIDIA GPU visible (nothing is measured, nothing installed); 1 failure.`;

const ROOT = path.resolve(__dirname, '..');
const TFJS_VERSION = require(path.join(ROOT, 'node_modules', '@tensorflow', 'tfjs', 'package.json')).version;

/** @param {string[]} argv */
function options(argv) {
  const o = { images: 50000, models: ['vgg16', 'resnet56'], keep: false, help: false };
  for (let i = 0; i < argv.length; i++) {
    const value = argv[i + 1];
    if (argv[i] === '--help') o.help = true;
    else if (argv[i] === '--keep') o.keep = true;
    else if (argv[i] === '--images' && /^\d+$/.test(value ?? '') && Number(value) >= 64) o.images = Number(argv[++i]);
    else if (argv[i] === '--models' && value) o.models = argv[++i].split(',');
    else throw Object.assign(new Error(`unknown or incomplete option '${argv[i]}' (--images needs a number ≥ 64)`), { usage: true });
  }
  return o;
}

/** The GPUs nvidia-smi lists, or why there are none. @returns {{ gpus: string[] } | { none: string }} */
function gpus() {
  const smi = spawnSync('nvidia-smi', ['--query-gpu=name,memory.total', '--format=csv,noheader'], { encoding: 'utf8' });
  if (smi.error) return { none: `nvidia-smi: ${smi.error.message}` };
  if (smi.status !== 0) return { none: `nvidia-smi exited ${smi.status}: ${(smi.stderr || '').trim()}` };
  const list = smi.stdout.trim().split('\n').filter(Boolean);
  return list.length > 0 ? { gpus: list } : { none: 'nvidia-smi lists no GPU' };
}

/** Samples the GPU's used memory (MiB) until stopped; `peak` is the largest sample. */
function memorySampler() {
  const child = spawn('nvidia-smi', ['--query-gpu=memory.used', '--format=csv,noheader,nounits', '-lms', '100']);
  let peak = 0;
  child.stdout.on('data', (chunk) => {
    for (const line of String(chunk).split('\n')) if (line.trim()) peak = Math.max(peak, Number(line.split(',')[0]));
  });
  return { stop: () => { child.kill(); return peak; } };
}

/** What runs in the installed app: one epoch per model through core's training step on tfjs-node-gpu. */
const TRAIN = `
const core = require('@rethink-prune/core');
(async () => {
  const info = await core.initBackend('tfjs-node-gpu');
  process.stdout.write(JSON.stringify({ backend: info.name, device: info.device ?? null }) + '\\n');
  const [model, images] = [process.argv[1], Number(process.argv[2])];
  const bench = core.benchModel(core.namedSpec(model));
  bench.train(); // builds the kernels once, outside the timing
  const steps = Math.floor(images / core.BENCH_BATCH);
  const started = process.hrtime.bigint();
  for (let i = 0; i < steps; i++) bench.train();
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  process.stdout.write(JSON.stringify({ model, images: steps * core.BENCH_BATCH, seconds }) + '\\n');
  bench.dispose();
})().catch((e) => { process.stderr.write(String(e && e.stack || e) + '\\n'); process.exit(1); });
`;

/** @param {string} command @param {string[]} args @param {string} cwd */
function run(command, args, cwd) {
  process.stderr.write(`gpu-check: $ ${command} ${args.join(' ')}\n`);
  // TensorFlow takes most of the GPU's memory up front unless told to grow: the peak would then be that reservation.
  const env = { ...process.env, TF_FORCE_GPU_ALLOW_GROWTH: 'true' };
  const result = spawnSync(command, args, { cwd, env, stdio: ['ignore', 'pipe', 'inherit'], encoding: 'utf8' });
  if (result.status !== 0) throw new Error(`${command} ${args[0]} failed (exit ${result.status})`);
  return result.stdout;
}

function main() {
  const o = options(process.argv.slice(2));
  if (o.help) return void process.stdout.write(`${USAGE}\n`);
  const found = gpus();
  if ('none' in found) {
    process.stdout.write(`gpu-check: no NVIDIA GPU visible (${found.none}); nothing was installed or measured\n`);
    process.exitCode = 3;
    return;
  }
  const coreDir = path.join(ROOT, 'packages', 'core');
  for (const dir of [coreDir, path.join(ROOT, 'packages', 'datasets')]) {
    if (!fs.existsSync(path.join(dir, 'dist'))) throw new Error(`${dir} is not built: run npx nx run core:build first`);
  }
  const app = fs.mkdtempSync(path.join(os.tmpdir(), 'gpu-check-'));
  try {
    const tarballs = [coreDir, path.join(ROOT, 'packages', 'datasets')]
      .map((dir) => path.join(app, run('npm', ['pack', '--silent', '--pack-destination', app], dir).trim()));
    fs.writeFileSync(path.join(app, 'package.json'), JSON.stringify({ name: 'gpu-check', private: true }));
    run('npm', ['install', '--no-audit', '--no-fund', ...tarballs, `@tensorflow/tfjs-node-gpu@${TFJS_VERSION}`], app);
    process.stdout.write(`gpu-check: ${found.gpus.join('; ')}; tfjs-node-gpu ${TFJS_VERSION}\n`);
    process.stdout.write('| model | images | seconds | img/s | peak GPU memory (MiB) |\n|---|---|---|---|---|\n');
    for (const model of o.models) {
      const memory = memorySampler();
      const out = run('node', ['-e', TRAIN, model, String(o.images)], app).trim().split('\n').map((l) => JSON.parse(l));
      const peak = memory.stop();
      const [start, done] = [out[0], out[out.length - 1]];
      if (start.device) process.stderr.write(`gpu-check: ${start.backend}: ${start.device}\n`);
      process.stdout.write(`| ${model} | ${done.images} | ${done.seconds.toFixed(1)} | ` +
        `${(done.images / done.seconds).toFixed(1)} | ${peak} |\n`);
    }
  } finally {
    if (o.keep) process.stderr.write(`gpu-check: kept ${app}\n`);
    else fs.rmSync(app, { recursive: true, force: true });
  }
}

try {
  main();
} catch (error) {
  process.stderr.write(`gpu-check: ${/** @type {Error} */ (error).message}\n`);
  process.exitCode = /** @type {any} */ (error).usage ? 2 : 1;
}
