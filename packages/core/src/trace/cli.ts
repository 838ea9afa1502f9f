#!/usr/bin/env node
import * as fs from 'fs';
import * as path from 'path';
import { parseArgs } from 'util';
import * as tf from '@tensorflow/tfjs';
import { BACKEND_ORDER, initBackend, shutdownBackend } from '../backend';
import { inferenceLatencies } from '../bench/latency';
import { UsageError, USAGE_EXIT_CODE } from '../experiment/cli';
import { writeModelFiles } from '../model-io';
import { layerFlops, readLayersModel } from './model-files';
import { paramCount, pruneTracedModel, tracedKeepSets, type TracedCriterion } from './prune-traced';
import { traceModel } from './traced-graph';

const CRITERIA: TracedCriterion[] = ['l1', 'bn-scale', 'random'];

const HELP = `rethink-prune-model: structured pruning of any tfjs Layers model (Sequential or functional, e.g. one
converted from Keras), with the channel graph traced from its layers.

Usage:
  rethink-prune-model trace --model <dir|model.json> [--barriers]
        the channel groups: which layers lose a channel together, and which are fixed (input, outputs, barriers)
  rethink-prune-model prune --model <dir|model.json> --out <dir> [--criterion l1|bn-scale|random] [--ratio 0.5]
        a smaller model.json + weights.bin with the same layer names; prints params, multiply-adds and measured
        latency before and after

Options:
  --criterion  l1: drop each group's filters of smallest L1 norm (Li et al.); bn-scale: drop the channels of
               smallest |γ| under one global threshold (network slimming); random (default l1)
  --ratio      share of each prunable group's channels to drop; bn-scale: share of all BN channels (default 0.5)
  --barriers   treat layers the tracer does not know as barriers (their channels stay) instead of an error
  --seed N     for --criterion random (default 0)
  --backend    ${['auto', ...BACKEND_ORDER].join(', ')} (default auto)
`;

async function run(argv: string[]): Promise<void> {
  let parsed;
  try {
    parsed = parseArgs({ args: argv, allowPositionals: true, options: {
      help: { type: 'boolean', short: 'h' }, model: { type: 'string' }, out: { type: 'string' },
      criterion: { type: 'string', default: 'l1' }, ratio: { type: 'string', default: '0.5' },
      barriers: { type: 'boolean', default: false }, seed: { type: 'string', default: '0' }, backend: { type: 'string' } } });
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
  const { values, positionals } = parsed;
  const command = positionals[0];
  if (values.help || !command) {
    process.stdout.write(HELP);
    return;
  }
  if (command !== 'trace' && command !== 'prune') throw new UsageError(`unknown command '${command}'; use trace or prune`);
  if (!values.model) throw new UsageError(`${command} needs --model <dir|model.json>`);
  const criterion = values.criterion as TracedCriterion;
  if (!CRITERIA.includes(criterion)) throw new UsageError(`--criterion ${criterion}: choose one of ${CRITERIA.join(', ')}`);
  const ratio = Number(values.ratio);
  if (!(ratio > 0 && ratio < 1)) throw new UsageError(`--ratio ${values.ratio}: give a share between 0 and 1`);
  if (command === 'prune' && !values.out) throw new UsageError('prune needs --out <dir>');
  const modelDir = fs.existsSync(values.model) && fs.statSync(values.model).isDirectory() ? values.model : path.dirname(values.model);
  if (values.out && path.resolve(values.out) === path.resolve(modelDir)) {
    throw new UsageError('--out must differ from --model (the original is kept)');
  }
  const modelJson = modelDir === values.model ? path.join(modelDir, 'model.json') : values.model;
  if (!fs.existsSync(modelJson)) throw new UsageError(`--model ${values.model}: no model.json there`);
  const info = await initBackend(values.backend);
  process.stderr.write(`rethink-prune-model: backend ${info.name}, ${info.threads} threads\n`);
  const model = await readLayersModel(values.model);
  const groups = traceModel(model, { barriers: values.barriers });
  if (command === 'trace') {
    for (const g of groups) {
      const layers = [...new Set(g.members.map((m) => `${m.layer}(${m.role})`))].join(' ');
      process.stdout.write(`${g.id.padEnd(24)} ${String(g.size).padStart(5)}  ${g.fixed ? `fixed: ${g.fixed}` : 'prunable'}  ${layers}\n`);
    }
    return;
  }
  const keep = tracedKeepSets(model, groups, { criterion, ratio, seed: Number(values.seed) });
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
