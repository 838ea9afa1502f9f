import * as fs from 'fs';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs';
import { activeBackend } from '../backend';
import { inferenceLatencies } from '../bench/latency';
import { writeFileAtomic } from '../fs-atomic';
import type { DatasetInfo, DatasetName } from '@rethink-prune/datasets';
import { countSpec } from '../pruning/counting';
import { applyMasks, type MaskSet } from '../pruning/masks';
import { loadMasks, loadModelDir, saveModelDir } from '../model-io';
import { profileLabel, widthDivisorOf, type Profile } from '../profiles';
import { buildModel, namedSpec, type ArchSpec } from '../spec';
import { pruneChannels } from '../pruning/surgery';
import type { TrainingData } from '../data/source';
import type { TrainResult } from '../train/loop';
import { sharedEpochs, type Recipe } from '../train/recipe';
import { narrowSpec } from '../widths';
import {
  methodVariant,
  variantPruner,
  type MethodDefinition,
  type MethodVariant,
  type ScratchStart,
  type StageRecipes,
  type StageTraining,
} from './method';
import { pruneStage, type PruneRecord } from './prune-stage';
import { experimentRecipes, withInitialLr } from './recipes';
import { paperNumbers } from './reference';
import type { ResultRow } from '../results';
import { reductionPct } from '../stats';
import { runStage, type StageJob, type StageOptions } from './stage';
import { STAGES, type StageName, type TrainedStage } from './stage-graph';
import { layerWidths, maskedCounts, type LayerWidth } from './widths-report';


/** The data of an experiment: in memory or ImageNet folders; `info.name` names the dataset in results. */
export type ExperimentData = TrainingData & { info: DatasetInfo & { name: DatasetName } };

export interface ExperimentOptions {
  profile: Profile;
  seed: number;
  data: ExperimentData;
  /** Runs of this profile: `<runRoot>/<dataset>/<model>/seed<k>/{baseline, <variant>/...}`. */
  runRoot: string;
  /** Run only this stage and what it needs. */
  only?: StageName;
  /** Train stale stages again instead of stopping (matching finished stages are still reused). */
  fresh?: boolean;
  /**
   * Told the layer widths of a structured prune (the weights and non-zero weights of an unstructured one), once
   * its stage is done or read, for the widths report.
   */
  onPruned?(widths: LayerWidth[], where: { round: number; lr?: number }): void;
  /** Told each training stage's epochs as it trains (a queue worker's progress). */
  onEpoch?: StageOptions['onEpoch'];
  /** Stops the stage that is training before its next step. */
  signal?: AbortSignal;
  /** The initial LR of the baseline and scratch runs, for a grid with an LR axis (runs under `lr<lr>/`). */
  lr?: number;
  /** Prune rounds, for a method with rounds (default: the method's). */
  rounds?: number;
  /** Run directories (of any method) whose finished stages of the same training are copied, not trained (reuse.ts). */
  reuseFrom?: readonly string[];
  /** A shared stage another process is training now: wait for it (default) or stop (StageOptions). */
  ifTrainingElsewhere?: 'wait' | 'exit';
}

/** The spec an experiment trains: the variant's model, narrowed by the profile. */
export function experimentSpecs(
  variant: MethodVariant,
  variantName: string,
  dataset: DatasetName,
  profile: Profile,
): { fullSpec: ArchSpec; spec: ArchSpec } {
  const imagenetModel = namedSpec(variant.base).dataset === 'imagenet';
  if (imagenetModel !== (dataset === 'imagenet')) {
    throw new Error(
      imagenetModel
        ? `${variantName} is an ImageNet experiment; run it with --dataset imagenet`
        : `${variantName} is a CIFAR-size experiment; it cannot run on ImageNet`,
    );
  }
  const fullSpec = namedSpec(variant.base, dataset);
  return { fullSpec, spec: narrowSpec(fullSpec, widthDivisorOf(profile, fullSpec.arch)) };
}

/** The seed of a random re-initialisation (Scratch-E/B from a fresh init): its weights and its data order. */
export const scratchSeed = (seed: number) => seed + 1000;

const describeTraining = (t?: StageTraining) => (t ? { id: t.id, params: t.params ?? {} } : null);

/** One value when every stage agrees (backend, threads), else each stage's joined with '+'. */
const agreed = (values: Array<string | number>) => {
  const unique = [...new Set(values)];
  return unique.length === 1 ? unique[0] : unique.join('+');
};

export const LATENCY_JSON = 'latency.json';

interface Latency {
  /** The backend and threads that measured it (`wasm+oneDNN 2.6.3 (2 threads)`). */
  backend: string;
  unpruned: { b1: number; b64: number };
  pruned: { b1: number; b64: number };
}

const round3 = (x: number) => Math.round(x * 1000) / 1000;

/**
 * Measured inference latency (ms, median after warm-up; 31 runs at batch 1, 5 at batch 64, or the profile's
 * `latencyPasses`) of the trained baseline and the pruned model on the active backend; kept in `file` and measured
 * again only on another backend or thread count. A pruned model with masks runs dense kernels: its zeros save no time.
 */
async function measuredLatency(file: string, baselineDir: string, prunedDir: string, profile: Profile): Promise<Latency> {
  const info = activeBackend();
  const backend = info
    ? `${info.name}${info.nativeConv ? `+${info.nativeConv}` : ''} (${info.threads} threads)`
    : `${tf.getBackend()}`;
  if (fs.existsSync(file)) {
    const saved = JSON.parse(fs.readFileSync(file, 'utf8')) as Latency;
    if (saved.backend === backend) return saved;
  }
  const [unpruned, pruned] = await Promise.all([path.join(baselineDir, 'best'), prunedDir].map(loadModelDir));
  try {
    const models = [unpruned.model, pruned.model];
    // A batch of one takes about a millisecond on small models: more repeats steady its median.
    const passes = profile.latencyPasses;
    const b1 = (await inferenceLatencies(models, 1, passes ? { warmup: 1, repeats: passes.b1 } : { warmup: 5, repeats: 31 }))
      .map(round3);
    const b64 = (await inferenceLatencies(models, 64, { warmup: 1, repeats: passes?.b64 ?? 5 })).map(round3);
    const latency = { backend, unpruned: { b1: b1[0], b64: b64[0] }, pruned: { b1: b1[1], b64: b64[1] } };
    writeFileAtomic(file, JSON.stringify(latency, null, 2));
    return latency;
  } finally {
    for (const loaded of [unpruned, pruned]) {
      loaded.model.dispose();
      for (const m of loaded.masks?.values() ?? []) m.dispose();
    }
  }
}

/**
 * The paper's experiment for one method, variant and seed:
 *   baseline → prune → fine-tune,  Scratch-E (same epochs),  Scratch-B (epochs × FLOPs ratio)
 * Every stage reads and writes files under the run directory and records the key of what produced it; a
 * finished stage is reused only when its key matches, an interrupted one resumes from its checkpoint, and the
 * baseline is shared by the variants of a model. A method with rounds prunes again after each (from the baseline,
 * or from the previous round's ticket: prune → rewind → train). Returns a result row per round once its stages are
 * done (none when `only` stops the run early).
 */
export async function runExperiment<V extends MethodVariant>(
  method: MethodDefinition<V>,
  variantName: string,
  o: ExperimentOptions,
): Promise<ResultRow[]> {
  const variant = methodVariant(method, variantName);
  const dataset = o.data.info.name;
  const { fullSpec, spec } = experimentSpecs(variant, variantName, dataset, o.profile);
  const defaults = experimentRecipes(o.profile, dataset);
  const ownRecipes = method.recipes?.(defaults, o.profile, dataset, variant) ?? defaults;
  const recipes = o.lr === undefined ? ownRecipes : withInitialLr(ownRecipes, o.lr);
  const limit = { train: o.profile.trainLimit, test: o.profile.testLimit };
  const seedDir = path.join(o.runRoot, dataset, variant.base, `seed${o.seed}`);
  const modelDir = o.lr === undefined ? seedDir : path.join(seedDir, `lr${o.lr}`);
  const common = { method: method.name, profile: o.profile.name, seed: o.seed, data: { dataset, limit } };

  const stageOptions = { data: o.data, limit, fresh: o.fresh ?? false, onEpoch: o.onEpoch, signal: o.signal,
    reuseFrom: o.reuseFrom, ifTrainingElsewhere: o.ifTrainingElsewhere };
  const lrLabel = o.lr === undefined ? '' : ` lr ${o.lr}`;
  const trainStage = ({ stage, training, label, startLabel, ...job }: Job) =>
    runStage({
      ...job,
      hooks: training ? (model) => training.hooks(model) : undefined,
      label: `${method.name} ${stage === 'baseline' ? variant.base : variantName}${lrLabel}${label ?? ''} ${stage}` +
        `${startLabel ?? ''}`,
    }, stageOptions);

  const baselineTraining = method.training?.('baseline', variant);
  /** A baseline: plain in `baseline/`, or with the method's hooks in `baseline-<id>/`. */
  const plainDir = path.join(modelDir, 'baseline');
  const baselineJob = (training: StageTraining | undefined): Job => {
    const dir = training ? path.join(modelDir, `baseline-${training.id}`) : plainDir;
    const initDir = path.join(dir, 'init');
    const recipe = training?.recipe?.(recipes.baseline) ?? recipes.baseline;
    const start = training?.start ? { start: training.start } : {};
    const identity = { ...common, stage: 'baseline', model: variant.base, spec, recipe,
      hooks: describeTraining(training), ...start };
    return { stage: 'baseline', dir, identity, spec, recipe, seed: o.seed, training,
      makeModel: async () => {
        const model = training?.start === 'plain-baseline'
          ? (await loadModelDir(path.join(plainDir, 'best'))).model
          : buildModel(spec, o.seed);
        // Every baseline keeps its initial weights, for scratch runs that start from them (lottery tickets).
        if (!fs.existsSync(path.join(initDir, 'spec.json'))) await saveModelDir(initDir, model, spec);
        return model;
      } };
  };
  const baselineStage = baselineJob(baselineTraining);
  // The plain baseline first: a hooked one may start from it.
  const wantsPlain = (method.plainBaseline || baselineTraining?.start === 'plain-baseline') && baselineTraining;
  const plainBase = wantsPlain ? await trainStage(baselineJob(undefined)) : undefined;
  const base = await trainStage(baselineStage);
  if (o.only === 'baseline') return [];

  const context: ExperimentContext<V> = { method, variant, variantName, o, spec, fullSpec, recipes, common,
    baselineDir: baselineStage.dir, trainStage };
  const rounds = method.rounds?.(variant, o.profile, o.rounds) ?? 1;
  const rows: ResultRow[] = [];
  let source = { dir: baselineStage.dir, identity: baselineStage.identity };
  for (let round = 1; round <= rounds; round++) {
    const roundDir = method.rounds ? path.join(modelDir, variantName, `round${round}`) : path.join(modelDir, variantName);
    const last = round === rounds;
    // An iterative round keeps the previous round's masks in force; a one-shot round prunes the baseline afresh.
    const previousDir = round > 1 && method.iterate?.(variant)
      ? path.join(path.dirname(roundDir), `round${round - 1}`, 'pruned') : undefined;
    const done = await runRound(context, { round, rounds, dir: roundDir, source, last, previousDir });
    if (!done) continue;
    if (done.stages) rows.push(resultRow(context, done.stages, { base, plainBase, round, rounds }));
    if (method.iterate?.(variant) && !last) {
      source = { dir: path.join(roundDir, scratchDir('scratch-e', 'saved-init')), identity: done.ticketIdentity! };
    }
  }
  return rows;
}

/** A stage of an experiment: its kind, and the method's training for it (undefined trains plainly). */
type Job = Omit<StageJob, 'label' | 'hooks'> & {
  stage: TrainedStage; training?: StageTraining; label?: string; startLabel?: string;
};

/** What every round of one experiment shares. */
interface ExperimentContext<V extends MethodVariant> {
  method: MethodDefinition<V>;
  variant: V;
  variantName: string;
  o: ExperimentOptions;
  spec: ArchSpec;
  fullSpec: ArchSpec;
  recipes: StageRecipes;
  common: Record<string, unknown>;
  baselineDir: string;
  trainStage(job: Job): Promise<TrainResult>;
}

/** One round: what it prunes, where it runs, and whether it is the last (earlier ones train only what the next needs). */
interface Round {
  round: number;
  rounds: number;
  dir: string;
  source: { dir: string; identity: Record<string, unknown> };
  previousDir?: string;
  last: boolean;
}

/** The trained stages of a round, by stage and start (`scratch-e`, `scratch-e-saved-init`). */
type RoundStages = Map<string, TrainResult>;

interface RoundResult {
  /** Every stage the round trains, once it has run them all; undefined when `only` asked for less. */
  stages?: RoundStages & { pruned: PruneRecord; counts: Record<'full' | 'small', { params: number; flops: number }>;
    latency: Latency; dir: string };
  /** The run key of the round's Scratch-E from the saved initialisation: the source of an iterative next round. */
  ticketIdentity?: Record<string, unknown>;
}

/** `scratch-e` for a fresh start, `scratch-e-saved-init` for the saved initialisation. */
const scratchDir = (stage: TrainedStage, start: ScratchStart) => (start === 'fresh' ? stage : `${stage}-${start}`);

async function runRound<V extends MethodVariant>(c: ExperimentContext<V>, r: Round): Promise<RoundResult | undefined> {
  const { method, variant, variantName, o, spec, recipes, common } = c;
  const dataset = o.data.info.name;
  const pruneIdentity = {
    ...common,
    stage: 'prune',
    variant: variantName,
    pruner: `${variantPruner(method, variant).kind} ${variantPruner(method, variant).version}`,
    // A method with rounds keys each round's prune by the variant's settings (a ticket's rate) and its source model.
    ...(method.rounds
      ? { round: r.round, rounds: r.rounds, settings: { ...variant, base: undefined }, source: r.source.identity }
      : { baseline: r.source.identity }),
  };
  // A published architecture is not pruned from the baseline: it is trained from scratch only.
  const architecture = variant.architecture &&
    narrowSpec({ ...variant.architecture, dataset }, widthDivisorOf(o.profile, variant.architecture.arch));
  const prunedDir = path.join(r.dir, 'pruned');
  const pruned: PruneRecord = architecture
    ? { identity: pruneIdentity, spec: architecture, accuracyBeforeFineTune: null }
    : await pruneStage(method, variantName, {
      dir: prunedDir,
      sourceDir: r.source.dir,
      round: r.round,
      rounds: r.rounds,
      ...(r.previousDir ? { previousDir: r.previousDir } : {}),
      fullSpec: c.fullSpec,
      identity: pruneIdentity,
      data: o.data,
      trainLimit: o.profile.trainLimit,
      testLimit: o.profile.testLimit,
      fresh: o.fresh ?? false,
      finetuneRecipe: recipes.finetune,
    });
  const masks = pruned.masks ? await loadMasks(prunedDir) : undefined;
  try {
    return await trainRound(c, r, pruned, masks, architecture);
  } finally {
    for (const mask of masks?.values() ?? []) mask.dispose();
  }
}

/** The trained stages of a round's pruned model (its masks, where unstructured, are the caller's to dispose). */
async function trainRound<V extends MethodVariant>(c: ExperimentContext<V>, r: Round, pruned: PruneRecord,
  masks: MaskSet | undefined, architecture: ArchSpec | undefined): Promise<RoundResult | undefined> {
  const { method, variant, variantName, o, spec, recipes, common } = c;
  const prunedDir = path.join(r.dir, 'pruned');
  const pruneIdentity = pruned.identity;
  const where = { round: r.round, lr: o.lr };
  if (pruned.keep) o.onPruned?.(layerWidths(spec, pruned.spec), where);
  if (masks) o.onPruned?.(maskedCounts(masks), where);
  const iterateFrom = method.iterate?.(variant) && !r.last;
  if (o.only === 'prune' && !iterateFrom) return undefined;

  // A masked model counts its non-zero conv weights only, as the seed's weight-level counter does.
  const [full, small] = [countSpec(spec), countSpec(pruned.spec, masks)];
  const recipeB = recipes.scratchB(full.flops, small.flops);
  const freshSeed = scratchSeed(o.seed);
  const label = method.rounds ? ` round ${r.round}` : '';
  /** A stage of the pruned model: its key names the init it starts from and the prune it follows. */
  const stageIdentity = (stage: TrainedStage, recipe: Recipe, init: string) => ({ ...common, stage, variant: variantName,
    spec: pruned.spec, recipe, init, hooks: describeTraining(method.training?.(stage, variant)), pruned: pruneIdentity });
  /** Trains (or reuses) a stage of the pruned model. */
  const variantStage = (stage: TrainedStage, dir: string, recipe: Recipe, seed: number, init: string,
    makeModel: Job['makeModel'], startLabel = '', sharing: Pick<Job, 'keepStateAfter' | 'startFrom'> = {}) =>
    c.trainStage({ stage, dir: path.join(r.dir, dir), identity: stageIdentity(stage, recipe, init), spec: pruned.spec,
      recipe, seed, makeModel, training: method.training?.(stage, variant), masks, label, startLabel, ...sharing });
  const scratchModel = (start: ScratchStart) => async () => {
    let model: tf.LayersModel;
    if (start === 'fresh') {
      model = buildModel(pruned.spec, freshSeed);
      // Only a masked model is re-initialised: a structured prune's scratch run is the architecture's own (reuse.ts).
      if (masks) method.initScratch?.(model, masks, freshSeed, variant);
    } else {
      const init = await loadModelDir(path.join(c.baselineDir, 'init'));
      model = pruned.keep ? pruneChannels(init.model, spec, pruned.keep).model : init.model;
      if (model !== init.model) init.model.dispose();
    }
    if (masks) applyMasks(model, masks);
    return model;
  };
  const wanted = (s: StageName) => !method.skips?.includes(s as TrainedStage) && (o.only === undefined || o.only === s);
  const stages: RoundStages = new Map();
  let ticketIdentity: Record<string, unknown> | undefined;

  if (wanted('finetune') && !architecture) {
    const loadPruned = async () => (await loadModelDir(prunedDir)).model;
    stages.set('finetune', await variantStage('finetune', 'finetune', recipes.finetune, o.seed, 'pruned', loadPruned));
  }
  // Scratch-B is Scratch-E's training (one init, data order and LR) until their LR schedules part: Scratch-E keeps its
  // state there and Scratch-B starts from it (train/shared-start.ts), unless the method trains the two differently.
  const hooksOf = (stage: TrainedStage) => JSON.stringify(describeTraining(method.training?.(stage, variant)));
  const alike = hooksOf('scratch-e') === hooksOf('scratch-b') && !method.skips?.includes('scratch-b');
  const shared = alike ? sharedEpochs(recipes.baseline, recipeB) : 0;
  for (const start of method.scratchStarts ?? ['fresh']) {
    // The saved initialisation trains on the baseline's data order, as a lottery ticket reruns its baseline.
    const seed = start === 'fresh' ? freshSeed : o.seed;
    const scratchE = { dir: path.join(r.dir, scratchDir('scratch-e', start)), spec: pruned.spec, seed,
      identity: stageIdentity('scratch-e', recipes.baseline, start), recipe: recipes.baseline };
    const sharing = (stage: 'scratch-e' | 'scratch-b') => (shared === 0 ? {}
      : stage === 'scratch-e' ? { keepStateAfter: shared } : { startFrom: { job: scratchE, epochs: shared } });
    for (const [stage, recipe] of [['scratch-e', recipes.baseline], ['scratch-b', recipeB]] as const) {
      const ticket = stage === 'scratch-e' && start === 'saved-init' && iterateFrom;
      if (!wanted(stage) && !ticket) continue;
      const dir = scratchDir(stage, start);
      const result = await variantStage(stage, dir, recipe, seed, start, scratchModel(start),
        start === 'fresh' ? '' : ` (${start})`, sharing(stage));
      stages.set(dir, result);
      if (ticket) ticketIdentity = result.identity;
    }
  }
  // Every trained stage of the graph after the prune, once per scratch start, but those skipped or absent.
  const expected = STAGES.filter((stage): stage is TrainedStage => stage !== 'baseline' && stage !== 'prune')
    .filter((stage) => !method.skips?.includes(stage) && !(architecture && stage === 'finetune'))
    .flatMap((stage) => (stage === 'finetune' ? [stage]
      : (method.scratchStarts ?? ['fresh']).map((start) => scratchDir(stage, start))));
  if (o.only !== undefined || expected.some((name) => !stages.has(name))) return { ticketIdentity };

  // An architecture has no pruned model: its speed is that of the trained Scratch-E model.
  const firstScratch = [...stages.keys()].find((name) => name.startsWith('scratch-'))!;
  const latencyModelDir = architecture ? path.join(r.dir, firstScratch, 'best') : prunedDir;
  const latency = await measuredLatency(path.join(r.dir, LATENCY_JSON), c.baselineDir, latencyModelDir, c.o.profile);
  return { ticketIdentity, stages: Object.assign(stages, { pruned, counts: { full, small }, latency, dir: r.dir }) };
}

/** The result row of one round, from the baseline and the round's trained stages. */
function resultRow<V extends MethodVariant>(
  c: ExperimentContext<V>,
  stages: NonNullable<RoundResult['stages']>,
  o: { base: TrainResult; plainBase?: TrainResult; round: number; rounds: number },
): ResultRow {
  const { method, variant, variantName, spec } = c;
  const dataset = c.o.data.info.name;
  const { pruned, latency, counts: { full, small } } = stages;
  const trained = [...stages.values()];
  const all = [o.base, ...trained];
  const acc = (name: string) => stages.get(name)?.bestTop1 ?? null;
  const epochs = (name: string) => stages.get(name)?.epochs ?? null;
  const paper = paperNumbers(method.reference, variantName, dataset);
  return {
    row_kind: 'run',
    method: method.name,
    model: variant.base,
    dataset,
    variant: variantName,
    profile: profileLabel(c.o.profile),
    lr: c.recipes.baseline.lr,
    round: method.rounds ? o.round : null,
    backend: agreed(all.map((s) => s.backend)),
    threads: agreed(all.map((s) => s.threads)),
    seed: c.o.seed,
    params: full.params,
    flops: full.flops,
    pruned_params: small.params,
    pruned_flops: small.flops,
    params_reduction_pct: reductionPct(small.params, full.params),
    flops_reduction_pct: reductionPct(small.flops, full.flops),
    sparsity_pct: pruned.sparsity === undefined ? null : Math.round(10000 * pruned.sparsity) / 100,
    latency_backend: latency.backend,
    latency_ms_b1: latency.unpruned.b1,
    pruned_latency_ms_b1: latency.pruned.b1,
    latency_ms_b64: latency.unpruned.b64,
    pruned_latency_ms_b64: latency.pruned.b64,
    acc_before_finetune: pruned.accuracyBeforeFineTune,
    acc_baseline: o.base.bestTop1,
    acc_baseline_plain: o.plainBase?.bestTop1 ?? null,
    acc_finetuned: acc('finetune'),
    acc_scratch_e: acc('scratch-e'),
    acc_scratch_b: acc('scratch-b'),
    acc_scratch_e_saved_init: acc('scratch-e-saved-init'),
    acc_scratch_b_saved_init: acc('scratch-b-saved-init'),
    epochs_baseline: o.base.epochs,
    epochs_finetune: epochs('finetune'),
    epochs_scratch_e: epochs('scratch-e') ?? epochs('scratch-e-saved-init'),
    epochs_scratch_b: epochs('scratch-b') ?? epochs('scratch-b-saved-init'),
    paper_acc_baseline: paper?.baseline ?? null,
    paper_acc_finetuned: paper?.finetuned ?? null,
    paper_acc_scratch_e: paper?.scratchE ?? null,
    paper_acc_scratch_b: paper?.scratchB ?? null,
    paper_source: paper?.source ?? null,
    baseline_seconds: Math.round(o.base.trainSeconds + (o.plainBase?.trainSeconds ?? 0)),
    // A Scratch-B that started from Scratch-E's state: those epochs' seconds are Scratch-E's, counted there.
    train_seconds: Math.round(trained.reduce((sum, s) => sum + s.trainSeconds - (s.sharedStart?.trainSeconds ?? 0), 0)),
  };
}
