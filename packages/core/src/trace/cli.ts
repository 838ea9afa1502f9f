#!/usr/bin/env node
import * as fs from 'fs';
import * as path from 'path';
import { parseArgs } from 'util';
import * as tf from '@tensorflow/tfjs';
import { shutdownBackend } from '../backend';
import { inferenceLatencies } from '../bench/latency';
import { BACKEND_NAMES, startBackend, UsageError, USAGE_EXIT_CODE } from '../cli-kit';
import { writeMasks, writeModelFiles } from '../model-io';
import { magnitudeMasks } from '../pruning/magnitude';
import { applyMasks, maskSparsity } from '../pruning/masks';
import { COMPARE_OPTIONS, COMPARE_OPTIONS_HELP, COMPARE_USAGE, compareCommand } from './compare-cli';
import { isKerasModel } from './keras3-weights';
import { layerFlops, readLayersModel } from './model-files';
import { keepSetsForFlops, paramCount, pruneTracedModel, tracedKeepSets, type TracedCriterion } from './prune-traced';
import { traceModel } from './traced-graph';

const CRITERIA: TracedCriterion[] = ['l1', 'bn-scale', 'random'];

const HELP = `rethink-prune-model: structured pruning of any tfjs Layers model (Sequential or functional, e.g. one
converted from Keras) or Keras 3 model (a .keras file, weights included), with the channel graph traced from its layers.

Usage:
  rethink-prune-model trace --model <dir|model.json|m.keras> [--barriers]
        the channel groups: which layers lose a channel together, and which are fixed (input, outputs, barriers)
  rethink-prune-model prune --model <dir|model.json|m.keras> --out <dir> [--criterion l1|bn-scale|random]
                            [--ratio 0.5 | --flops-target 0.5]
        a smaller model.json + weights.bin with the same layer names; prints params, multiply-adds and measured
        latency before and after
  rethink-prune-model prune --model <dir|model.json|m.keras> --out <dir> --unstructured 0.8
        the same model with the smallest |w| of all its conv kernels zeroed (one global threshold, as Han et al.),
        masks.json + masks.bin beside it: its size and speed do not change, only its non-zero weights
${COMPARE_USAGE}
Options:
  --criterion  l1: drop each group's filters of smallest L1 norm (Li et al.); bn-scale: drop the channels of
               smallest |γ| under one global threshold (network slimming); random (default l1)
  --ratio      share of each prunable group's channels to drop; bn-scale: share of all BN channels (default 0.5)
  --flops-target  share of the multiply-adds to remove instead: the smallest --ratio that removes at least it
  --unstructured  share of all conv weights to zero instead of removing channels
  --barriers   treat layers the tracer does not know as barriers (their channels stay) instead of an error
  --seed N     for --criterion random, and compare's initial weights and batch order (default 0)
  --backend    ${BACKEND_NAMES.join(', ')} (default auto)
${COMPARE_OPTIONS_HELP}`;

async function run(argv: string[]): Promise<void> {
  let parsed;
  try {
    parsed = parseArgs({ args: argv, allowPositionals: true, options: {
      help: { type: 'boolean', short: 'h' }, model: { type: 'string' }, out: { type: 'string' },
      criterion: { type: 'string', default: 'l1' }, ratio: { type: 'string' }, 'flops-target': { type: 'string' },
      unstructured: { type: 'string' },
      barriers: { type: 'boolean', default: false }, seed: { type: 'string', default: '0' }, backend: { type: 'string' },
      ...COMPARE_OPTIONS } });
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
  const { values, positionals } = parsed;
  const command = positionals[0];
  if (values.help || !command) {
    process.stdout.write(HELP);
    return;
  }
  if (!['trace', 'prune', 'compare'].includes(command)) {
    throw new UsageError(`unknown command '${command}'; use trace, prune or compare`);
  }
  if (!values.model) throw new UsageError(`${command} needs --model <dir|model.json|m.keras>`);
  const criterion = values.criterion as TracedCriterion;
  if (!CRITERIA.includes(criterion)) throw new UsageError(`--criterion ${criterion}: choose one of ${CRITERIA.join(', ')}`);
  const given = (['ratio', 'flops-target', 'unstructured'] as const).filter((o) => values[o] !== undefined);
  if (given.length > 1) throw new UsageError(`${given.map((o) => `--${o}`).join(' and ')}: give one of them`);
  const share = (option: 'ratio' | 'flops-target' | 'unstructured', fallback?: string) => {
    const text = values[option] ?? fallback;
    if (text === undefined) return undefined;
    const value = Number(text);
    if (!(value > 0 && value < 1)) throw new UsageError(`--${option} ${text}: give a share between 0 and 1`);
    return value;
  };
  const flopsTarget = share('flops-target');
  const unstructured = share('unstructured');
  const ratio = share('ratio', flopsTarget === undefined && unstructured === undefined ? '0.5' : undefined);
  if (command === 'compare') {
    if (unstructured !== undefined) throw new UsageError('compare prunes channels: give --ratio or --flops-target');
    return compareCommand(values, { model: values.model, criterion, ratio, flopsTarget, seed: Number(values.seed),
      barriers: values.barriers, backend: values.backend });
  }
  if (command === 'prune' && !values.out) throw new UsageError('prune needs --out <dir>');
  const modelDir = fs.existsSync(values.model) && fs.statSync(values.model).isDirectory() ? values.model : path.dirname(values.model);
  if (values.out && path.resolve(values.out) === path.resolve(modelDir)) {
    throw new UsageError('--out must differ from --model (the original is kept)');
  }
  const modelJson = modelDir === values.model ? path.join(modelDir, 'model.json') : values.model;
  if (!isKerasModel(values.model) && !fs.existsSync(modelJson)) {
    throw new UsageError(`--model ${values.model}: no model.json there (nor a Keras 3 config.json + model.weights.h5)`);
  }
  await startBackend('rethink-prune-model', values.backend);
  const model = await readLayersModel(values.model);
  // Unstructured masks need no channel graph: any layer the tracer does not know is fine.
  if (command === 'prune' && unstructured !== undefined) return unstructuredPrune(model, unstructured, values.out!);
  const groups = traceModel(model, { barriers: values.barriers });
  if (command === 'trace') {
    for (const g of groups) {
      const layers = [...new Set(g.members.map((m) => `${m.layer}(${m.role})`))].join(' ');
      process.stdout.write(`${g.id.padEnd(24)} ${String(g.size).padStart(5)}  ${g.fixed ? `fixed: ${g.fixed}` : 'prunable'}  ${layers}\n`);
    }
    return;
  }
  const seed = Number(values.seed);
  const chosen = flopsTarget === undefined
    ? { keep: tracedKeepSets(model, groups, { criterion, ratio: ratio!, seed }), ratio: ratio! }
    : await keepSetsForFlops(model, groups, { criterion, reduction: flopsTarget, seed, flops: layerFlops })
      .catch((e: Error) => { throw new UsageError(`--flops-target ${flopsTarget}: ${e.message}`); });
  if (flopsTarget !== undefined) process.stdout.write(`--flops-target ${flopsTarget}: ratio ${chosen.ratio.toFixed(4)}\n`);
  const keep = chosen.keep;
  const pruned = await pruneTracedModel(model, groups, keep);
  await writeModelFiles(values.out!, pruned);
  const [before, after] = [model, pruned].map((m) => ({ params: paramCount(m), flops: layerFlops(m) }));
  const latency = await inferenceLatencies([model, pruned], 1, { warmup: 3, repeats: 15 });
  const fewer = (a: number, b: number) => `${(100 * (1 - b / a)).toFixed(1)}% fewer`;
  for (const [id, kept] of Object.entries(keep)) {
    const size = groups.find((g) => g.id === id)!.size;
    process.stdout.write(`${id.padEnd(24)} ${size} → ${kept.length}\n`);
  }
  process.stdout.write(`params ${before.params} → ${after.params} (${fewer(before.params, after.params)}), ` +
    `multiply-adds ${before.flops} → ${after.flops} (${fewer(before.flops, after.flops)}), ` +
    `latency at batch 1 ${latency[0].toFixed(2)} → ${latency[1].toFixed(2)} ms on ${tf.getBackend()}; saved to ${values.out}\n`);
}

/** `--unstructured p`: zero the share p of all conv weights by magnitude; the same model with its masks beside it. */
async function unstructuredPrune(model: tf.LayersModel, share: number, out: string): Promise<void> {
  const masks = magnitudeMasks(model, share);
  if (masks.size === 0) throw new UsageError('--unstructured: the model has no Conv2D kernel to prune');
  applyMasks(model, masks);
  await writeModelFiles(out, model);
  writeMasks(out, masks);
  process.stdout.write(`${(100 * maskSparsity(masks)).toFixed(2)}% of the weights of ${masks.size} conv kernels ` +
    `zeroed (params and multiply-adds unchanged: a dense kernel runs its zeros); saved with masks.json to ${out}\n`);
  for (const m of masks.values()) m.dispose();
}

if (require.main === module) {
  run(process.argv.slice(2)).then(() => 0, (e: Error) => {
    const usage = e instanceof UsageError;
    process.stderr.write(`rethink-prune-model: ${e.message}\n${usage ? "Run 'rethink-prune-model --help' for usage.\n" : ''}`);
    return usage ? USAGE_EXIT_CODE : 1;
  }).then((code) => {
    shutdownBackend();
    process.exitCode = code;
  });
}

export { run as runModelCli };
