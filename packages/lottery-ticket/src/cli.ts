#!/usr/bin/env node
import * as fs from 'fs';
import * as path from 'path';
import { parseArgs } from 'util';
import {
  applyMasks, BACKEND_ORDER, initBackend, loadModelDir, loadTrainingData, parseShare, profileByName, saveModelDir,
  shutdownBackend, UsageError, USAGE_EXIT_CODE, type MaskSet,
} from '@rethink-prune/core';
import { DATASETS, isDatasetName, resolveDataDir } from '@rethink-prune/datasets';
import { checkTicketGrid, runTicketGrid, ticketsBase, type TicketGridOptions } from './grid';
import { ticketsMarkdown } from './results';
import { convSparsity, nextRoundMasks, rewind } from './ticket';
import {
  DEFAULT_RATE, defaultLearningRates, defaultRounds, defaultTicketVariants, TICKET_VARIANTS,
} from './variants';

const COMMAND = 'lottery-ticket';
const BACKENDS = ['auto', ...BACKEND_ORDER];

const OPTIONS = {
  help: { type: 'boolean', short: 'h' },
  profile: { type: 'string', default: 'quick' },
  dataset: { type: 'string', default: 'fashion-mnist' },
  'data-dir': { type: 'string' },
  models: { type: 'string' },
  seeds: { type: 'string', default: '1' },
  lrs: { type: 'string' },
  rounds: { type: 'string' },
  rate: { type: 'string' },
  'run-dir': { type: 'string' },
  fresh: { type: 'boolean', default: false },
  backend: { type: 'string' },
  model: { type: 'string' },
  init: { type: 'string' },
  pruned: { type: 'string' },
  out: { type: 'string' },
} as const;

const HELP = `${COMMAND}: lottery tickets (Frankle & Carbin, 2019) as "Rethinking the Value of Network Pruning" tests them:
the pruned network trained from the baseline's own initial weights (winning ticket) against the same pruned network
trained from a fresh random init, for structured (L1-norm) and unstructured (weight-level) pruning, at two LRs.

Usage:
  ${COMMAND} reproduce [options]      train baselines, prune, train both inits per round; write CSV, table and chart
  ${COMMAND} prune --model <dir> --rate <p> --out <dir>
                                      one round of iterative magnitude pruning: remove the share p of the conv
                                      weights still non-zero (the model's masks.json, if any, stays in force)
  ${COMMAND} rewind --init <dir> --pruned <dir> --out <dir>
                                      the winning ticket: the initial weights <init> with the masks of <pruned>
  ${COMMAND} variants                 list the variants
  ${COMMAND} --help                   this text

reproduce options:
  --profile paper|quick|smoke   recipe length and model width (default quick)
  --dataset <name>              ${Object.keys(DATASETS).join(', ')} (default fashion-mnist)
  --data-dir <dir>              dataset directory (default $RETHINK_PRUNE_DATA, then ~/.cache/rethink-prune/data)
  --models a,b,...              variants (default per profile: quick ${defaultTicketVariants(profileByName('quick')).join(', ')})
  --lrs a,b                     initial learning rates (default: paper 0.1,0.01; quick and smoke the profile's LR
                                and a tenth of it)
  --rounds N                    unstructured rounds (default paper 10, quick 3, smoke 2); structured is one-shot
  --rate p                      share of the remaining conv weights each round prunes (default ${DEFAULT_RATE}, Frankle &
                                Carbin's); one-shot variants prune 1 − (1 − p)^r at once for round r
  --seeds N                     seeds 0..N-1 (default 1); the table shows mean ± std
  --run-dir <dir>               checkpoints and results (default runs/lottery-ticket)
  --fresh                       train stages whose run key changed again, instead of stopping
  --backend <name>              ${BACKENDS.join(', ')} (default auto)

Exit codes: 0 success, 1 failure while running, ${USAGE_EXIT_CODE} usage error.
`;

type Values = ReturnType<typeof parseArgs<{ args: string[]; allowPositionals: true; strict: true; options: typeof OPTIONS }>>['values'];

function usage<T>(check: () => T): T {
  try {
    return check();
  } catch (e) {
    throw e instanceof UsageError ? e : new UsageError((e as Error).message);
  }
}

function positiveInteger(option: string, value: string): number {
  if (!/^\d+$/.test(value) || Number(value) < 1) throw new UsageError(`--${option} ${value}: give a whole number ≥ 1`);
  return Number(value);
}

function learningRates(value: string): number[] {
  const lrs = value.split(',').map((part) => part.trim()).filter(Boolean).map(Number);
  if (lrs.length === 0 || lrs.some((lr) => !Number.isFinite(lr) || lr <= 0 || lr > 10)) {
    throw new UsageError(`--lrs ${value}: give initial learning rates above 0, comma-separated (e.g. 0.1,0.01)`);
  }
  return lrs;
}

const rateOf = (value: string) => usage(() => parseShare('rate', value, 'the share of the remaining conv weights to prune, between 0 and 1 (e.g. 0.2)'));

/** Everything a reproduce run needs, checked before the backend starts or any file is touched. */
export function reproduceRequest(values: Values): TicketGridOptions {
  const profile = usage(() => profileByName(values.profile!));
  const dataset = values.dataset!;
  if (!isDatasetName(dataset)) throw new UsageError(`unknown dataset '${dataset}'; choose one of ${Object.keys(DATASETS).join(', ')}`);
  const variants = values.models ? values.models.split(',').map((m) => m.trim()).filter(Boolean) : defaultTicketVariants(profile);
  if (variants.length === 0) throw new UsageError('--models names no variant');
  usage(() => checkTicketGrid({ variants, dataset, profile }));
  const runDir = values['run-dir'] ?? path.join('runs', 'lottery-ticket');
  if (fs.existsSync(runDir) && !fs.statSync(runDir).isDirectory()) throw new UsageError(`--run-dir ${runDir} is a file, not a directory`);
  return {
    profile, dataset, variants, runDir,
    dataDir: resolveDataDir(values['data-dir']),
    seeds: positiveInteger('seeds', values.seeds!),
    lrs: values.lrs === undefined ? defaultLearningRates(profile) : learningRates(values.lrs),
    rounds: values.rounds === undefined ? defaultRounds(profile) : positiveInteger('rounds', values.rounds),
    rate: values.rate === undefined ? DEFAULT_RATE : rateOf(values.rate),
    fresh: values.fresh ?? false,
  };
}

async function startBackend(name: string | undefined): Promise<void> {
  if (name !== undefined && !BACKENDS.includes(name)) throw new UsageError(`unknown backend '${name}'; choose one of ${BACKENDS.join(', ')}`);
  const info = await initBackend(name);
  process.stderr.write(`${COMMAND}: backend ${info.name}, ${info.threads} threads${info.nativeConv ? `, convolutions in ${info.nativeConv}` : ''}\n`);
}

async function reproduceCommand(values: Values): Promise<void> {
  const request = reproduceRequest(values);
  const data = loadTrainingData(request.dataset, request.dataDir); // a missing dataset stops us before the backend starts
  await startBackend(values.backend);
  const started = Date.now();
  const rows = await runTicketGrid(request, data);
  const base = ticketsBase(request);
  process.stdout.write(`\n${ticketsMarkdown(rows)}\n\nresults: ${base}.csv, ${base}.md, chart ${base}.svg; ` +
    `this run took ${((Date.now() - started) / 1000).toFixed(0)} s (finished stages are reused)\n`);
}

/** A model directory that must exist, named by its option. */
function existingDir(option: string, dir: string | undefined): string {
  if (!dir) throw new UsageError(`--${option} <dir> is required`);
  if (!fs.existsSync(path.join(dir, 'model.json'))) throw new UsageError(`--${option} ${dir}: no model.json there`);
  return dir;
}

function outDir(values: Values, inputs: string[]): string {
  if (!values.out) throw new UsageError('--out <dir> is required');
  if (inputs.some((dir) => path.resolve(dir) === path.resolve(values.out!))) {
    throw new UsageError('--out must differ from the input directories (they are kept)');
  }
  return values.out;
}

const disposeMasks = (masks?: MaskSet) => { for (const mask of masks?.values() ?? []) mask.dispose(); };

async function pruneCommand(values: Values): Promise<void> {
  const modelDir = existingDir('model', values.model);
  if (values.rate === undefined) throw new UsageError('prune needs --rate <p>');
  const rate = rateOf(values.rate);
  const out = outDir(values, [modelDir]);
  await startBackend(values.backend);
  const { model, spec, masks } = await loadModelDir(modelDir);
  const before = masks ? convSparsity(model, masks) : 0;
  const next = nextRoundMasks(model, rate, masks);
  applyMasks(model, next);
  await saveModelDir(out, model, spec, next);
  process.stdout.write(`conv weights pruned: ${(100 * before).toFixed(2)}% → ${(100 * convSparsity(model, next)).toFixed(2)}%` +
    ` (--rate ${rate} of the remaining); saved with masks.json to ${out}\n`);
  disposeMasks(masks);
  disposeMasks(next);
  model.dispose();
}

async function rewindCommand(values: Values): Promise<void> {
  const [initDir, prunedDir] = [existingDir('init', values.init), existingDir('pruned', values.pruned)];
  const out = outDir(values, [initDir, prunedDir]);
  await startBackend(values.backend);
  const pruned = await loadModelDir(prunedDir);
  pruned.model.dispose();
  if (!pruned.masks) throw new UsageError(`--pruned ${prunedDir}: no masks.json there (prune it with '${COMMAND} prune')`);
  const initSpec = (await loadModelDir(initDir));
  initSpec.model.dispose();
  if (JSON.stringify(initSpec.spec) !== JSON.stringify(pruned.spec)) {
    throw new UsageError(`--init ${initDir} and --pruned ${prunedDir} are different architectures (spec.json differs)`);
  }
  const ticket = await rewind(initDir, { masks: pruned.masks });
  await saveModelDir(out, ticket, pruned.spec, pruned.masks);
  process.stdout.write(`winning ticket: the initial weights of ${initDir} with ${(100 * convSparsity(ticket, pruned.masks)).toFixed(2)}%` +
    ` of conv weights zeroed by the masks of ${prunedDir}; saved with masks.json to ${out}\n`);
  disposeMasks(pruned.masks);
  ticket.dispose();
}

function variantsCommand(): void {
  for (const [name, { base, ...settings }] of Object.entries(TICKET_VARIANTS)) {
    process.stdout.write(`${name.padEnd(20)} base ${base.padEnd(16)} ${JSON.stringify(settings)}\n`);
  }
}

export async function runTicketCli(argv: string[]): Promise<number> {
  try {
    let parsed: { values: Values; positionals: string[] };
    try {
      parsed = parseArgs({ args: argv, allowPositionals: true, strict: true, options: OPTIONS });
    } catch (e) {
      throw new UsageError((e as Error).message);
    }
    const { values, positionals } = parsed;
    const command = positionals[0];
    if (values.help || command === undefined || command === 'help') {
      process.stdout.write(HELP);
      return 0;
    }
    if (positionals.length > 1) throw new UsageError(`unexpected argument '${positionals[1]}'`);
    if (command === 'reproduce') await reproduceCommand(values);
    else if (command === 'prune') await pruneCommand(values);
    else if (command === 'rewind') await rewindCommand(values);
    else if (command === 'variants') variantsCommand();
    else throw new UsageError(`unknown command '${command}'; use reproduce, prune, rewind or variants`);
    return 0;
  } catch (e) {
    const isUsage = e instanceof UsageError;
    process.stderr.write(`${COMMAND}: ${(e as Error).message}\n${isUsage ? `Run '${COMMAND} --help' for usage.\n` : ''}`);
    return isUsage ? USAGE_EXIT_CODE : 1;
  } finally {
    shutdownBackend();
  }
}

if (require.main === module) {
  runTicketCli(process.argv.slice(2)).then((code) => { process.exitCode = code; });
}
