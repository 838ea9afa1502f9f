import * as fs from 'fs';
import * as path from 'path';
import { parseArgs } from 'util';
import * as tf from '@tensorflow/tfjs';
import { DATASETS, isDatasetName, resolveDataDir } from '@rethink-prune/datasets';
import { shutdownBackend } from '../backend';
import { BACKEND_NAMES, checkBackendName, startBackend, UsageError, USAGE_EXIT_CODE } from '../cli-kit';
import { TRAINING_ELSEWHERE_EXIT_CODE, TrainingElsewhereError } from '../errors';
import { countSpec } from '../pruning/counting';
import { loadTrainingData, testBatches, trainBatches, trainingImages } from '../data/source';
import { namedWeights } from '../pruning/masks';
import { loadModelDir, saveModelDir } from '../model-io';
import { OVERRIDABLE, PROFILES, profileByName, RECIPE_FIELDS, withOverrides, type Profile } from '../profiles';
import { resultsMarkdown } from '../results';
import { namedSpec } from '../spec';
import { checkGrid, methodReportBase, resultsBase, runGrid, widthsPath, type GridOptions } from './grid';
import { methodVariant, variantPruner, type MethodDefinition, type MethodVariant } from './method';
import { pruneModel } from './prune-stage';
import { loadQueueLink, methodPackageName } from './queue-link';
import { relativeMarkdown } from './relative-report';
import { STAGES } from './stage-graph';
import { evaluate, forwardInTraining, type Evaluation } from '../train/evaluate';
import { layerWidthLines, layerWidths, maskedCounts, sparsityLines } from './widths-report';

export { UsageError, USAGE_EXIT_CODE };

const OPTIONS = {
  help: { type: 'boolean', short: 'h' },
  profile: { type: 'string', default: 'quick' },
  dataset: { type: 'string', default: 'fashion-mnist' },
  'data-dir': { type: 'string' },
  models: { type: 'string' },
  seeds: { type: 'string', default: '1' },
  seed: { type: 'string' },
  'run-dir': { type: 'string' },
  stage: { type: 'string' },
  backend: { type: 'string' },
  fresh: { type: 'boolean', default: false },
  'reuse-from': { type: 'string' },
  'if-training-elsewhere': { type: 'string' },
  'profile-file': { type: 'string' },
  epochs: { type: 'string' },
  'finetune-epochs': { type: 'string' },
  'width-divisor': { type: 'string' },
  'batch-size': { type: 'string' },
  lr: { type: 'string' },
  'train-limit': { type: 'string' },
  'test-limit': { type: 'string' },
  lrs: { type: 'string' },
  rounds: { type: 'string' },
  queue: { type: 'string' },
  attempts: { type: 'string', default: '2' },
  model: { type: 'string' },
  variant: { type: 'string' },
  out: { type: 'string' },
  'refresh-bn': { type: 'string' },
} as const;

/** runs/method-l1 for `prune-l1`: the package's folder name, from its command. */
const defaultRunDir = (method: MethodDefinition<any>) =>
  path.join('runs', method.command.replace(/^prune-/, 'method-'));

/** The tables a method's reference.json quotes: "Reproduces Table 1 of Liu et al. …", or the other source's. */
function paperTables(method: MethodDefinition<any>): string {
  const tables = [...new Set(method.reference.map((row) => row.table))];
  const ours = tables.filter((t) => /^Table \d/.test(t));
  const others = tables.filter((t) => !ours.includes(t));
  const numbers = method.reference.some((row) => [row.baseline, row.finetuned, row.scratchE, row.scratchB].some((v) => v !== null));
  const lines = [
    ...(ours.length > 0 ? [`Reproduces ${ours.join(', ')} of Liu et al., "Rethinking the Value of Network Pruning" (ICLR 2019).`] : []),
    ...(others.length > 0 && numbers ? [`Reference numbers from ${others.join(', ')}.`] : []),
    ...(others.length > 0 && !numbers ? [`Compares with ${others.join('; ')} (no printed numbers: its reference.json names the rows).`] : []),
  ];
  return lines.join('\n') || 'No paper numbers in its reference.json.';
}

function help(method: MethodDefinition<any>): string {
  const c = method.command;
  const indent = ' '.repeat(c.length);
  const option = method.pruneOption;
  const adHoc = option
    ? `  ${c} prune --model <dir> --${option.name} <${option.value}> --out <dir>\n` +
      `${indent}                        ${option.help}\n`
    : '';
  const comparison = method.skips?.includes('finetune') ? '' : ", and the paper's fine-tune / Scratch-E / Scratch-B comparison";
  return `${c}: ${method.title}${comparison}
${paperTables(method)}

Usage:
  ${c} reproduce [options]      run the paper's experiments for this method and write a CSV result table
  ${c} prune --model <dir> --variant <name> --out <dir>
  ${indent}                        prune a trained model directory (model.json + spec.json); a model trained
  ${indent}                        by the quick or smoke profile is pruned by the same fractions
${adHoc}${Object.entries(method.commands ?? {}).map(([name, { usage }]) => `  ${c} ${name} ${usage}\n`).join('')}  ${c} sparsity --model <dir>   the zeros of every kernel of a saved model, per layer and in all
  ${c} evaluate --model <dir> [--refresh-bn N] [--data-dir <dir>] [--test-limit N]
  ${indent}                        test top-1 / top-5 of a saved model on the dataset its spec names; with
  ${indent}                        --refresh-bn, again after N training batches ran through it in training mode
  ${indent}                        (BN's statistics follow the weights, no weight changes): stale statistics or lost
  ${indent}                        weights, for a pruned model at chance before fine-tuning
  ${c} variants                 list the variants, their base models and defaults
  ${c} --help                   this text

reproduce options:
  --profile paper|small|quick|smoke   recipe length and model width (default quick); small is the converged
                                CPU scale of results/, quick a pipeline check of minutes
  --epochs N, --finetune-epochs N, --width-divisor N, --batch-size N, --lr X, --train-limit N, --test-limit N
                                change one field of the profile (each enters the run key of the stages it affects)
  --profile-file <file.json>    the same fields from a JSON object ({"epochs": 30, "lr": 0.05}); flags win
  --dataset <name>              ${Object.keys(DATASETS).join(', ')} (default fashion-mnist)
  --data-dir <dir>              dataset directory (default $RETHINK_PRUNE_DATA, then ~/.cache/rethink-prune/data);
                                ImageNet is read from <dir>/imagenet/{train,val}/<wnid>/*.JPEG (or <dir>/{train,val})
  --models a,b,...              variants to run (default: per profile and dataset; see '${c} variants')
  --seeds N                     run the grid with seeds 0..N-1; the table shows mean ± std (default 1)
  --seed K                      run seed K alone (processes sharing a --run-dir can split the seeds; a last run
                                with --seeds N then trains nothing and writes the whole table)
  --run-dir <dir>               checkpoints and results (default ${defaultRunDir(method)})
  --lrs a,b                     an LR axis: the whole grid at each initial LR (runs under lr<a>/)${method.learningRates
    ? `; default ${method.learningRates(PROFILES.paper).join(',')} on paper` : ''}
${method.rounds ? `  --rounds N                    prune rounds (prune → train → prune again; default per profile)\n` : ''}  --stage <name>                run one stage and what it needs: ${STAGES.join(', ')}, report (default: all)
  --fresh                       train stages whose run key changed again, instead of stopping
  --reuse-from <dir>,...        copy finished stages of the same training from these run directories (any method's:
                                a plain baseline, a fresh scratch run of a structured prune's architecture) instead
                                of training them again; result.json names where each came from; one that a
                                process beside this one is training now is waited for, then copied
  --if-training-elsewhere wait|exit
                                with --reuse-from: where another process is training a stage the same way now (runs
                                share claims through the first --reuse-from folder), wait for it and copy it (default),
                                or stop with exit code ${TRAINING_ELSEWHERE_EXIT_CODE} to be run again later
  --backend <name>              ${BACKEND_NAMES.join(', ')} (default auto; env RETHINK_PRUNE_BACKEND)
  --queue redis://host:port     put the grid's stages on this Redis queue instead of running them here; workers
                                on any number of machines run them ('rethink-prune worker', @rethink-prune/queue);
                                --run-dir is then taken relative to each worker's --run-dir
  --attempts N                  with --queue: tries per stage before it is marked failed (default 2)

A finished stage is reused only when it was produced by the same method, variant, spec, recipe, profile, seed,
hooks and pruner version (with --reuse-from, one of another run is copied where only the method's or variant's
name differs); an interrupted one resumes from its last checkpoint when rerun.
Exit codes: 0 success, 1 failure while running, ${USAGE_EXIT_CODE} usage error.
`;
}

type Values = ReturnType<typeof parseArgs<{ args: string[]; allowPositionals: true; strict: true; options: typeof OPTIONS }>>['values'] & {
  /** The method's own prune option (`percent`), where it has one. */
  [option: string]: string | boolean | undefined;
};
function parse(method: MethodDefinition<any>, argv: string[]): { values: Values; positionals: string[] } {
  const own = method.pruneOption ? { [method.pruneOption.name]: { type: 'string' as const } } : {};
  try {
    return parseArgs({ args: argv, allowPositionals: true, strict: true, options: { ...OPTIONS, ...own } }) as {
      values: Values; positionals: string[];
    };
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
}

/**
 * A method option's share strictly between 0 and 1 (`--percent 0.7`, `--rate 0.7`); otherwise an error
 * `--<option> <value>: give <meaning>`, which the CLI reports as a usage error.
 */
export function parseShare(option: string, value: string, meaning: string): number {
  const share = Number(value);
  if (value.trim() === '' || !Number.isFinite(share) || share <= 0 || share >= 1) {
    throw new Error(`--${option} ${value}: give ${meaning}`);
  }
  return share;
}

/** A command-line count (`--seeds 3`): digits only, at least 1, else a usage error naming the flag. */
function countOption(flag: string, value: string): number {
  const n = Number(value);
  if (!/^\d+$/.test(value) || n < 1) throw new UsageError(`--${flag} ${value}: give a whole number ≥ 1`);
  return n;
}

/** Runs a check of the command line's values; what it throws is a usage error. */
function asUsage<T>(check: () => T): T {
  try {
    return check();
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
}

/** `--epochs` → `epochs`, `--finetune-epochs` → `finetuneEpochs`. */
const flagOf = (field: string) => field.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);

/** The JSON object of `--profile-file`: a missing file, bad JSON or a field we do not know is a usage error. */
function profileFile(file: string): Record<string, unknown> {
  if (!fs.existsSync(file)) throw new UsageError(`--profile-file ${file}: no such file`);
  let fields: unknown;
  try {
    fields = JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch (e) {
    throw new UsageError(`--profile-file ${file}: not JSON (${(e as Error).message})`);
  }
  if (typeof fields !== 'object' || fields === null || Array.isArray(fields))
    throw new UsageError(`--profile-file ${file}: give a JSON object of profile fields (${OVERRIDABLE.join(', ')})`);
  return fields as Record<string, unknown>;
}

/** The named profile, changed by `--profile-file` and then by the field flags. */
function requestedProfile(values: Values): Profile {
  const named = asUsage(() => profileByName(values.profile!));
  const fromFile = values['profile-file'] ? profileFile(values['profile-file']) : {};
  const flags = Object.fromEntries(OVERRIDABLE.map((field) => [field, values[flagOf(field)]]));
  const fromFileChecked = asUsage(() => withOverrides(named, fromFile));
  try {
    return withOverrides(fromFileChecked, flags);
  } catch (e) {
    throw new UsageError(`--${(e as Error).message.replace(/^[a-zA-Z]+/, flagOf)}`);
  }
}

/** Everything a reproduce run needs, checked before the backend starts or any file is touched. */
export function reproduceRequest(method: MethodDefinition<any>, values: Values): GridOptions {
  const profile = requestedProfile(values);
  const dataset = values.dataset!;
  if (!isDatasetName(dataset))
    throw new UsageError(`unknown dataset '${dataset}'; choose one of ${Object.keys(DATASETS).join(', ')}`);
  const recipeFlags = RECIPE_FIELDS.filter((f) => profile.overrides?.[f]);
  if (dataset === 'imagenet' && recipeFlags.length > 0) {
    throw new UsageError(`${recipeFlags.map((f) => `--${flagOf(f)}`).join(', ')}: ImageNet runs take their epochs, ` +
      'LR and batch from the profile\'s ImageNet recipe; only --width-divisor, --train-limit and --test-limit apply');
  }
  const seeds = countOption('seeds', values.seeds!);
  const onlySeed = values.seed === undefined ? undefined : Number(values.seed);
  if (values.seed !== undefined && !/^\d+$/.test(values.seed)) throw new UsageError(`--seed ${values.seed}: give a whole number ≥ 0`);
  const stage = values.stage as GridOptions['stage'];
  if (stage !== undefined && stage !== 'report' && !(STAGES as readonly string[]).includes(stage)) {
    throw new UsageError(`unknown stage '${stage}'; choose one of ${STAGES.join(', ')}, report`);
  }
  const variants = values.models
    ? values.models
        .split(',')
        .map((m) => m.trim())
        .filter(Boolean)
    : method.defaultVariants(profile, dataset);
  if (variants.length === 0) throw new UsageError('--models names no variant');
  asUsage(() => checkGrid(method, { variants, dataset, profile }));
  const lrs = values.lrs === undefined ? undefined : [...new Set(values.lrs.split(',').map(Number))];
  if (lrs && (lrs.length === 0 || lrs.some((lr) => !Number.isFinite(lr) || lr <= 0)))
    throw new UsageError(`--lrs ${values.lrs}: give initial learning rates above 0, separated by commas (0.1,0.01)`);
  if (values.rounds !== undefined && !method.rounds) throw new UsageError(`--rounds: ${method.name} prunes once`);
  const rounds = values.rounds === undefined ? undefined : countOption('rounds', values.rounds);
  const reuseFrom = values['reuse-from']?.split(',').map((d) => d.trim()).filter(Boolean);
  const missing = reuseFrom?.find((d) => !fs.existsSync(d) || !fs.statSync(d).isDirectory());
  if (missing !== undefined) throw new UsageError(`--reuse-from ${missing}: no such directory`);
  const ifTrainingElsewhere = values['if-training-elsewhere'];
  if (ifTrainingElsewhere !== undefined && ifTrainingElsewhere !== 'wait' && ifTrainingElsewhere !== 'exit')
    throw new UsageError(`--if-training-elsewhere ${ifTrainingElsewhere}: give wait or exit`);
  if (ifTrainingElsewhere !== undefined && !reuseFrom)
    throw new UsageError('--if-training-elsewhere goes with --reuse-from (the runs that may train the same stage)');
  const runDir = values['run-dir'] ?? defaultRunDir(method);
  if (fs.existsSync(runDir) && !fs.statSync(runDir).isDirectory())
    throw new UsageError(`--run-dir ${runDir} is a file, not a directory`);
  return {
    profile,
    dataset,
    dataDir: resolveDataDir(values['data-dir']),
    variants,
    seeds,
    ...(onlySeed === undefined ? {} : { onlySeed }),
    runDir,
    stage,
    fresh: values.fresh ?? false,
    ...(lrs ? { lrs } : {}),
    ...(rounds === undefined ? {} : { rounds }),
    ...(reuseFrom ? { reuseFrom } : {}),
    ...(ifTrainingElsewhere ? { ifTrainingElsewhere } : {}),
  };
}


/** `reproduce --queue`: the grid's stages go on the queue; workers run them. */
async function enqueueCommand(method: MethodDefinition<any>, request: GridOptions, values: Values): Promise<void> {
  if (request.stage !== undefined) throw new UsageError('--stage cannot go with --queue: the queue runs every stage');
  if (request.onlySeed !== undefined) throw new UsageError('--seed cannot go with --queue: the queue runs every seed');
  if (request.reuseFrom) throw new UsageError('--reuse-from cannot go with --queue: each worker reads its own run directory');
  const attempts = countOption('attempts', values.attempts!);
  const { dataDir: _, stage: __, ...grid } = request;
  const url = values.queue!;
  const summary = await loadQueueLink().enqueueGrid({ url, method, methodPackage: methodPackageName(method), grid, attempts })
    .catch((e: Error) => { throw e.name === 'QueueUrlError' ? new UsageError(e.message) : e; });
  const failed = summary.failed.length > 0
    ? `; ${summary.failed.length} failed before (${summary.failed.join(', ')}): 'rethink-prune status --retry' tries them again`
    : '';
  process.stdout.write(
    `${method.command}: ${summary.added} stage(s) put on the queue, ${summary.existing} already queued or done${failed}\n` +
      `results: ${summary.results} under the workers' --run-dir, once the report stage has run; ` +
      `progress: rethink-prune status --queue <url>\n`,
  );
}

async function reproduceCommand(method: MethodDefinition<any>, values: Values): Promise<void> {
  const request = reproduceRequest(method, values);
  if (values.queue !== undefined) return enqueueCommand(method, request, values);
  checkBackendName(values.backend);
  const data = loadTrainingData(request.dataset, request.dataDir); // a missing dataset stops us before the backend starts
  // The family of the first model trained: what `auto` measures the paths on.
  const family = namedSpec(methodVariant(method, request.variants[0]).base, request.dataset).arch;
  await startBackend(method.command, values.backend, family);
  const started = Date.now();
  const rows = await runGrid(method, request, data);
  if (rows.length === 0) return;
  const paperSources = [
    ...new Set(rows.map((r) => String(r.paper_source ?? '').split(':')[0]).filter(Boolean)),
  ];
  process.stdout.write(
    `\n${resultsMarkdown(rows)}\n\n(ours / paper; the paper's numbers are from ${paperSources.join(', ') || 'no table'}` +
      `${request.dataset === 'cifar10' || request.dataset === 'imagenet' ? '' : `, on its own dataset, not ${request.dataset}`})\n`,
  );
  const relative = relativeMarkdown(rows, method.reference);
  if (relative) process.stdout.write(`\n${relative}\n\n(as Tables 2 and 3 print it: changes of top-1 from the unpruned model)\n`);
  if (method.report) process.stdout.write(`\n${method.report.markdown(rows)}\n`);
  const perLayer = fs.existsSync(widthsPath(request, method)) ? `, per layer: ${widthsPath(request, method)}` : '';
  const own = methodReportBase(request, method);
  const report = own ? `, ${method.report!.name}: ${own}.md${method.report!.chart ? ` and .svg` : ''}` : '';
  process.stdout.write(
    `results: ${resultsBase(request)}.csv${perLayer}${report}; this run took ${((Date.now() - started) / 1000).toFixed(0)} s ` +
      '(finished stages are reused)\n',
  );
}

function pruneUsage(method: MethodDefinition<any>): UsageError {
  const option = method.pruneOption;
  const either = option ? ` or --${option.name} <${option.value}> (one of the two)` : '';
  return new UsageError(`prune needs --model <dir>, --out <dir> and --variant <name>${either}`);
}

/** The variant `prune` applies: named by --variant, or made from the method's own option (`--percent 0.6`). */
function pruneVariant(method: MethodDefinition<any>, values: Values): { name: string; variant: MethodVariant; named: boolean } {
  const option = method.pruneOption;
  const given = option ? values[option.name] : undefined;
  if (typeof given === 'string' && values.variant === undefined) {
    const variant = { ...asUsage(() => option!.variant(given)), base: values.model as string };
    return { name: `--${option!.name} ${given}`, variant, named: false };
  }
  if (values.variant === undefined || given !== undefined) throw pruneUsage(method);
  const variant = asUsage(() => methodVariant(method, values.variant!));
  if (variant.architecture) {
    throw new UsageError(`${values.variant} is a published architecture: there is nothing to prune; ` +
      `'${method.command} reproduce --models ${values.variant}' trains it from scratch`);
  }
  return { name: values.variant, variant, named: true };
}

const reduction = (before: number, after: number) => `${(100 * (1 - after / before)).toFixed(1)}% fewer`;

async function pruneCommand(method: MethodDefinition<any>, values: Values): Promise<void> {
  if (!values.model || !values.out) throw pruneUsage(method);
  const { name, variant, named } = pruneVariant(method, values);
  if (!fs.existsSync(values.model!)) throw new UsageError(`--model ${values.model}: no such directory`);
  if (path.resolve(values.out!) === path.resolve(values.model!))
    throw new UsageError('--out must differ from --model (the trained model is kept)');
  await startBackend(method.command, values.backend);
  const { model, spec, masks } = await loadModelDir(values.model!);
  // A named variant's targets are set on its full-width model; one from the command line applies to this model.
  const fullSpec = named ? namedSpec(variant.base, spec.dataset) : spec;
  // A data-driven pruner reads training images of the dataset the model was trained on.
  const count = variantPruner(method, variant).images;
  const images = count === undefined ? undefined
    : await trainingImages(loadTrainingData(spec.dataset, resolveDataDir(values['data-dir'])), count, { seed: 0 });
  // The masks of an earlier prune stay in force for a pruner that iterates (lottery tickets' next round).
  const pruned = await pruneModel(method, name, model, spec, fullSpec, { variant, images, ...(masks ? { previous: masks } : {}) });
  images?.dispose();
  await saveModelDir(values.out!, pruned.model, pruned.spec, pruned.masks);
  const [before, after] = [countSpec(spec), countSpec(pruned.spec, pruned.masks)];
  const sparsity =
    pruned.sparsity === undefined ? '' : `, ${(100 * pruned.sparsity).toFixed(1)}% of masked weights zero`;
  if (pruned.keep) {
    process.stdout.write(`widths per layer (before → after):\n${layerWidthLines(layerWidths(spec, pruned.spec)).join('\n')}\n`);
  }
  if (pruned.masks) process.stdout.write(`${sparsityLines(maskedCounts(pruned.masks)).join('\n')}\n`);
  for (const [key, value] of Object.entries(pruned.report ?? {})) process.stdout.write(`${key}: ${value}\n`);
  process.stdout.write(
    `${name}: params ${before.params} → ${after.params} (${reduction(before.params, after.params)}), ` +
      `FLOPs ${before.flops} → ${after.flops} (${reduction(before.flops, after.flops)})${sparsity}; ` +
      `saved to ${values.out}\n`,
  );
}

/** `sparsity --model <dir>`: the zeros of every kernel of a saved model, per layer and in all. */
async function sparsityCommand(method: MethodDefinition<any>, values: Values): Promise<void> {
  if (!values.model) throw new UsageError('sparsity needs --model <dir>');
  if (!fs.existsSync(values.model)) throw new UsageError(`--model ${values.model}: no such directory`);
  await startBackend(method.command, values.backend);
  const { model, masks } = await loadModelDir(values.model);
  const kernels = [...namedWeights(model)].filter(([name]) => name.endsWith('/kernel'));
  const counts = kernels.map(([layer, weight]) => ({
    layer, width: weight.read().size, pruned: tf.tidy(() => tf.sum(tf.notEqual(weight.read(), 0)).dataSync()[0]),
  }));
  const masked = masks ? ` (${masks.size} of them masked: masks.json)` : ' (no masks.json)';
  process.stdout.write(`${values.model}: ${counts.length} kernels${masked}\n${sparsityLines(counts).join('\n')}\n`);
  for (const m of masks?.values() ?? []) m.dispose();
  model.dispose();
}

const evaluationLine = (what: string, e: Evaluation) =>
  `${what}: top-1 ${e.top1.toFixed(2)}%, top-5 ${e.top5.toFixed(2)}%, loss ${e.loss.toFixed(4)} (${e.count} test images)`;

/**
 * `evaluate --model <dir> [--refresh-bn N]`: a saved model's test accuracy in inference mode on the dataset its
 * spec names; with --refresh-bn, again after N batches of 64 training images (augmented as in training) ran forward
 * in training mode, which moves BN's statistics to the weights as they are and changes no weight.
 */
async function evaluateCommand(method: MethodDefinition<any>, values: Values): Promise<void> {
  if (!values.model) throw new UsageError('evaluate needs --model <dir>');
  if (!fs.existsSync(values.model)) throw new UsageError(`--model ${values.model}: no such directory`);
  const refresh = values['refresh-bn'] === undefined ? 0 : countOption('refresh-bn', values['refresh-bn']);
  const limit = values['test-limit'] === undefined ? undefined : countOption('test-limit', values['test-limit']);
  await startBackend(method.command, values.backend);
  const { model, spec, masks } = await loadModelDir(values.model);
  try {
    const data = loadTrainingData(spec.dataset, resolveDataDir(values['data-dir']));
    const shape = [data.info.height, data.info.width, data.info.channels];
    const test = () => evaluate(model, testBatches(data, { limit }), shape);
    process.stdout.write(`${values.model} on ${spec.dataset}\n${evaluationLine('as saved', test())}\n`);
    if (refresh === 0) return;
    // An epoch of refresh·64 training images (a fixed random subset, shuffled and augmented as training does).
    const stream = trainBatches(data, { batchSize: 64, seed: 0, limit: refresh * 64 });
    const batches = Math.min(refresh, stream.batchesPerEpoch);
    try {
      await forwardInTraining(model, stream, 0, batches, shape);
    } finally {
      await stream.dispose?.();
    }
    process.stdout.write(`${evaluationLine(`after ${batches} training-mode batches (BN statistics refreshed, ` +
      'weights unchanged)', test())}\n`);
  } finally {
    for (const m of masks?.values() ?? []) m.dispose();
    model.dispose();
  }
}

function variantsCommand(method: MethodDefinition<any>): void {
  const defaults = (Object.keys(PROFILES) as Array<keyof typeof PROFILES>).map(
    (p) => `${p}: ${method.defaultVariants(PROFILES[p], 'cifar10').join(', ')}`,
  );
  // Each variant's own settings (target cfg, skip list and ratios, percent...), as its method defines them.
  for (const [name, { base, ...settings }] of Object.entries(method.variants as Record<string, MethodVariant>)) {
    // An architecture's channel lists (ResNet-50-2x's input selections) would fill the screen: the line is cut.
    const text = JSON.stringify(settings);
    process.stdout.write(`${name.padEnd(16)} base ${base.padEnd(18)} ${text.length > 240 ? `${text.slice(0, 240)}…` : text}\n`);
  }
  process.stdout.write(`defaults (CIFAR-size data) — ${defaults.join('; ')}\n`);
}

/** `prune-x variants | head`: a reader that stops early closes the pipe, which is no failure of ours. */
function endQuietlyOnClosedPipe(): void {
  if (process.stdout.listenerCount('error') > 0) return;
  process.stdout.on('error', (e: NodeJS.ErrnoException) => {
    if (e.code !== 'EPIPE') throw e;
    process.exit(0);
  });
}

/** The CLI every method package gets: `reproduce | prune | variants | --help`, built from its definition. */
export async function runMethodCli(method: MethodDefinition<any>, argv: string[]): Promise<number> {
  endQuietlyOnClosedPipe();
  try {
    const own = method.commands && Object.prototype.hasOwnProperty.call(method.commands, argv[0])
      ? method.commands[argv[0]] : undefined;
    if (own && !argv.includes('--help') && !argv.includes('-h')) {
      await own.run(argv.slice(1));
      return 0;
    }
    const { values, positionals } = parse(method, argv);
    const command = positionals[0];
    if (values.help || command === undefined || command === 'help') {
      process.stdout.write(help(method));
      return 0;
    }
    if (positionals.length > 1) throw new UsageError(`unexpected argument '${positionals[1]}'`);
    if (command === 'variants') variantsCommand(method);
    else if (command === 'prune') await pruneCommand(method, values);
    else if (command === 'reproduce') await reproduceCommand(method, values);
    else if (command === 'sparsity') await sparsityCommand(method, values);
    else if (command === 'evaluate') await evaluateCommand(method, values);
    else if (method.commands && Object.prototype.hasOwnProperty.call(method.commands, command)) {
      process.stdout.write(help(method));
    }
    else {
      const all = ['reproduce', 'prune', 'sparsity', 'evaluate', 'variants', ...Object.keys(method.commands ?? {})];
      throw new UsageError(`unknown command '${command}'; use ${all.join(', ')}`);
    }
    return 0;
  } catch (e) {
    const usage = e instanceof UsageError;
    process.stderr.write(
      `${method.command}: ${(e as Error).message}\n${usage ? `Run '${method.command} --help' for usage.\n` : ''}`,
    );
    if (e instanceof TrainingElsewhereError) return TRAINING_ELSEWHERE_EXIT_CODE;
    return usage ? USAGE_EXIT_CODE : 1;
  } finally {
    shutdownBackend();
  }
}
