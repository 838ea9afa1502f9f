#!/usr/bin/env node
import * as path from 'path';
import { parseArgs } from 'util';
import {
  initBackend, loadModelDir, namedSpec, profileByName, resultsMarkdown, saveModelDir, shutdownBackend, STAGES, countSpec,
} from '@rethink-prune/core';
import { isDatasetName, resolveDataDir } from '@rethink-prune/datasets';
import { pruneByL1Norm } from './prune';
import { ALL_MODELS, defaultModels, IMAGENET_MODELS, reproduce } from './reproduce';
import { L1_VARIANTS, l1Variant, targetWidths } from './variants';

const HELP = `prune-l1: L1-norm filter pruning (Li et al., 2017) and the paper's fine-tune / Scratch-E / Scratch-B comparison

Usage:
  prune-l1 reproduce [options]      run the paper's L1 experiments and write a CSV result table
  prune-l1 prune --model <dir> --variant <name> --out <dir>
                                    prune a trained model directory (model.json + spec.json) by L1 norm
  prune-l1 variants                 list the pruned variants and their target widths

reproduce options:
  --profile paper|quick|smoke       recipe length and model width (default quick)
  --dataset <name>                  cifar10, cifar100, mnist, fashion-mnist, imagenet (default fashion-mnist)
  --data-dir <dir>                  dataset directory (default $RETHINK_PRUNE_DATA, then ~/.cache/rethink-prune/data);
                                    ImageNet is read from <dir>/imagenet/{train,val}/<wnid>/*.JPEG (or <dir>/{train,val})
  --models a,b,...                  variants (default per profile; all: ${ALL_MODELS.join(', ')};
                                    ImageNet: ${IMAGENET_MODELS.join(', ')}, 90-epoch recipe: needs a GPU backend)
  --seeds N                         repeat each experiment with seeds 0..N-1 (default 1)
  --run-dir <dir>                   where stages write checkpoints and results (default runs/method-l1)
  --stage <name>                    run one stage and what it needs: ${STAGES.join(', ')}, report (default: all)
  --backend <name>                  auto, tfjs-node-gpu, tfjs-node, wasm, cpu (default auto; env RETHINK_PRUNE_BACKEND)

A finished stage is never run again; an interrupted one resumes from its last checkpoint when rerun.
`;

function fail(message: string): never {
  process.stderr.write(`prune-l1: ${message}\nRun 'prune-l1 --help' for usage.\n`);
  process.exit(2);
}

async function main(argv: string[]): Promise<void> {
  const { values, positionals } = parseArgs({
    args: argv, allowPositionals: true, strict: true,
    options: {
      help: { type: 'boolean', short: 'h' }, profile: { type: 'string', default: 'quick' }, dataset: { type: 'string', default: 'fashion-mnist' },
      'data-dir': { type: 'string' }, models: { type: 'string' }, seeds: { type: 'string', default: '1' },
      'run-dir': { type: 'string', default: path.join('runs', 'method-l1') }, stage: { type: 'string' }, backend: { type: 'string' },
      model: { type: 'string' }, variant: { type: 'string' }, out: { type: 'string' },
    },
  });
  const command = positionals[0];
  if (values.help || !command) {
    process.stdout.write(HELP);
    return;
  }
  if (command === 'variants') {
    for (const [name, v] of Object.entries(L1_VARIANTS)) {
      const spec = namedSpec(v.base);
      process.stdout.write(`${name.padEnd(12)} ${JSON.stringify([...targetWidths(spec, v).values()])}\n`);
    }
    return;
  }
  if (command !== 'reproduce' && command !== 'prune') fail(`unknown command '${command}'`);
  const info = await initBackend(values.backend);
  process.stderr.write(`prune-l1: backend ${info.name}, ${info.threads} threads${info.nativeConv ? `, convolutions in ${info.nativeConv}` : ''}\n`);

  if (command === 'prune') {
    if (!values.model || !values.variant || !values.out) fail('prune needs --model <dir>, --variant <name> and --out <dir>');
    const variant = l1Variant(values.variant);
    const { model, spec } = await loadModelDir(values.model);
    const pruned = pruneByL1Norm(model, spec, targetWidths(spec, variant));
    await saveModelDir(values.out, pruned.model, pruned.spec);
    const [before, after] = [countSpec(spec), countSpec(pruned.spec)];
    process.stdout.write(`${values.variant}: params ${before.params} → ${after.params}, FLOPs ${before.flops} → ${after.flops}; saved to ${values.out}\n`);
    return;
  }

  const stage = values.stage;
  if (stage !== undefined && stage !== 'report' && !(STAGES as readonly string[]).includes(stage)) fail(`unknown stage '${stage}'`);
  if (!isDatasetName(values.dataset)) fail(`unknown dataset '${values.dataset}'`);
  const seeds = Number(values.seeds);
  if (!Number.isInteger(seeds) || seeds < 1) fail(`--seeds ${values.seeds} must be a positive integer`);
  const profile = profileByName(values.profile!);
  const models = values.models ? values.models.split(',').map((m) => m.trim()).filter(Boolean) : defaultModels(profile, values.dataset);
  const started = Date.now();
  const rows = await reproduce({
    profile, dataset: values.dataset, dataDir: resolveDataDir(values['data-dir']), models, seeds,
    runDir: values['run-dir']!, stage: stage as never,
  });
  if (rows.length > 0) {
    const paperData = values.dataset === 'imagenet' ? 'ImageNet top-1' : 'CIFAR-10';
    process.stdout.write(`\n${resultsMarkdown(rows)}\n\n(ours / paper; the paper's numbers are ${paperData}, Table 1)\n`);
    process.stdout.write(`results: ${path.join(values['run-dir']!, profile.name, `results-${values.dataset}.csv`)}; ` +
      `this run took ${((Date.now() - started) / 1000).toFixed(0)} s (finished stages are reused)\n`);
  }
}

main(process.argv.slice(2))
  .catch((e: Error) => {
    process.stderr.write(`prune-l1: ${e.message}\n`);
    process.exitCode = 1;
  })
  .finally(() => shutdownBackend());
