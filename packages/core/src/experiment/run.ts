import * as fs from 'fs';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs';
import { activeBackend } from '../backend';
import { inferenceLatencies } from '../bench/latency';
import { writeFileAtomic } from '../fs-atomic';
import type { DatasetInfo, DatasetName } from '@rethink-prune/datasets';
import { countSpec } from '../pruning/counting';
import { applyMasks, type MaskSet } from '../pruning/masks';
import { loadModelDir, saveModelDir } from '../model-io';
import { profileLabel, type Profile } from '../profiles';
import { buildModel, namedSpec, type ArchSpec } from '../spec';
import { pruneChannels } from '../pruning/surgery';
import type { TrainingData } from '../data/source';
import type { TrainResult } from '../train/loop';
import type { Recipe } from '../train/recipe';
import { narrowSpec } from '../widths';
import {
  methodVariant,
  type MethodDefinition,
  type MethodVariant,
  type StageTraining,
} from './method';
import { pruneStage, type PruneRecord } from './prune-stage';
import { experimentRecipes } from './recipes';
import { paperNumbers } from './reference';
import type { ResultRow } from '../results';
import { runStage, type StageJob, type StageOptions } from './stage';
import type { StageName, TrainedStage } from './stage-graph';
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
  onPruned?(widths: LayerWidth[]): void;
  /** Told each training stage's epochs as it trains (a queue worker's progress). */
  onEpoch?: StageOptions['onEpoch'];
  /** Stops the stage that is training before its next step. */
  signal?: AbortSignal;
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
  return { fullSpec, spec: narrowSpec(fullSpec, profile.widthDivisor) };
}

/** The masks saved with a pruned model (the model itself is not kept). */
async function loadMasks(dir: string): Promise<MaskSet | undefined> {
  const { model, masks } = await loadModelDir(dir);
  model.dispose();
  return masks;
}

const pct = (part: number, whole: number) => Math.round(10000 * (1 - part / whole)) / 100;
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
 * Measured inference latency (ms, median after warm-up; 31 runs at batch 1, 5 at batch 64) of the trained
 * baseline and the pruned model on the active backend; kept in `file` and measured again only on another
 * backend or thread count. A pruned model with masks runs dense kernels: its zeros save no time.
 */
async function measuredLatency(file: string, baselineDir: string, prunedDir: string): Promise<Latency> {
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
    const b1 = (await inferenceLatencies(models, 1, { warmup: 5, repeats: 31 })).map(round3);
    const b64 = (await inferenceLatencies(models, 64, { warmup: 1, repeats: 5 })).map(round3);
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
 * baseline is shared by the variants of a model. Returns the result row once every stage is done.
 */
export async function runExperiment<V extends MethodVariant>(
  method: MethodDefinition<V>,
  variantName: string,
  o: ExperimentOptions,
): Promise<ResultRow | undefined> {
  const variant = methodVariant(method, variantName);
  const dataset = o.data.info.name;
  const { fullSpec, spec } = experimentSpecs(variant, variantName, dataset, o.profile);
  const defaults = experimentRecipes(o.profile, dataset);
  const recipes = method.recipes?.(defaults, o.profile, dataset, variant) ?? defaults;
  const limit = { train: o.profile.trainLimit, test: o.profile.testLimit };
  const modelDir = path.join(o.runRoot, dataset, variant.base, `seed${o.seed}`);
  const variantDir = path.join(modelDir, variantName);
  const common = { method: method.name, profile: o.profile.name, seed: o.seed, data: { dataset, limit } };

  const stageOptions = { data: o.data, limit, fresh: o.fresh ?? false, onEpoch: o.onEpoch, signal: o.signal };
  /** A stage of this experiment: its kind, and the method's training for it (undefined trains plainly). */
  type Job = Omit<StageJob, 'label' | 'hooks'> & { stage: TrainedStage; training?: StageTraining };
  const trainStage = ({ stage, training, ...job }: Job) =>
    runStage({
      ...job,
      hooks: training ? (model) => training.hooks(model) : undefined,
      label: `${method.name} ${stage === 'baseline' ? variant.base : variantName} ${stage}`,
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
  const { dir: baselineDir, identity: baselineIdentity } = baselineJob(baselineTraining);
  const initDir = path.join(baselineDir, 'init');
  // The plain baseline first: a hooked one may start from it.
  const wantsPlain = (method.plainBaseline || baselineTraining?.start === 'plain-baseline') && baselineTraining;
  const plainBase = wantsPlain ? await trainStage(baselineJob(undefined)) : undefined;
  const base = await trainStage(baselineJob(baselineTraining));
  if (o.only === 'baseline') return undefined;

  const pruneIdentity = {
    ...common,
    stage: 'prune',
    variant: variantName,
    pruner: `${method.pruner.kind} ${method.pruner.version}`,
    baseline: baselineIdentity,
  };
  // A published architecture is not pruned from the baseline: it is trained from scratch only.
  const architecture = variant.architecture && narrowSpec({ ...variant.architecture, dataset }, o.profile.widthDivisor);
  const pruned: PruneRecord = architecture
    ? { identity: pruneIdentity, spec: architecture, accuracyBeforeFineTune: null }
    : await pruneStage(method, variantName, {
      dir: path.join(variantDir, 'pruned'),
      baselineDir,
      fullSpec,
      identity: pruneIdentity,
      data: o.data,
      trainLimit: limit.train,
      testLimit: limit.test,
      fresh: o.fresh ?? false,
    });
  const prunedDir = path.join(variantDir, 'pruned');
  const masks = pruned.masks ? await loadMasks(prunedDir) : undefined;
  if (pruned.keep) o.onPruned?.(layerWidths(spec, pruned.spec));
  if (masks) o.onPruned?.(maskedCounts(masks));
  if (o.only === 'prune') return undefined;

  // A masked model counts its non-zero conv weights only, as the seed's weight-level counter does.
  const [full, small] = [countSpec(spec), countSpec(pruned.spec, masks)];
  const budget = method.budgetFlops?.(spec, pruned.spec, masks) ?? { full: full.flops, pruned: small.flops };
  const recipeB = recipes.scratchB(budget.full, budget.pruned);
  const scratchSeed = o.seed + 1000;
  const scratchInit = method.scratchInit ?? 'fresh';
  /** A stage of the pruned model: its key names the init it starts from and the prune it follows. */
  const variantStage = (
    stage: TrainedStage,
    recipe: Recipe,
    seed: number,
    init: string,
    makeModel: Job['makeModel'],
  ): Promise<TrainResult> =>
    trainStage({
      stage,
      dir: path.join(variantDir, stage),
      identity: {
        ...common,
        stage,
        variant: variantName,
        spec: pruned.spec,
        recipe,
        init,
        hooks: describeTraining(method.training?.(stage, variant)),
        pruned: pruneIdentity,
      },
      spec: pruned.spec,
      recipe,
      seed,
      makeModel,
      training: method.training?.(stage, variant),
      masks,
    });
  const scratchModel = async () => {
    let model: tf.LayersModel;
    if (scratchInit === 'fresh') {
      model = buildModel(pruned.spec, scratchSeed);
    } else {
      const init = await loadModelDir(initDir);
      model = pruned.keep ? pruneChannels(init.model, spec, pruned.keep).model : init.model;
      if (model !== init.model) init.model.dispose();
    }
    method.initScratch?.(model, masks, scratchSeed);
    if (masks) applyMasks(model, masks);
    return model;
  };
  const wanted = (s: StageName) => o.only === undefined || o.only === s;

  const loadPruned = async () => (await loadModelDir(prunedDir)).model;
  const tuned = wanted('finetune') && !architecture
    ? await variantStage('finetune', recipes.finetune, o.seed, 'pruned', loadPruned)
    : undefined;
  const scratchE = wanted('scratch-e')
    ? await variantStage('scratch-e', recipes.baseline, scratchSeed, scratchInit, scratchModel)
    : undefined;
  const scratchB = wanted('scratch-b')
    ? await variantStage('scratch-b', recipeB, scratchSeed, scratchInit, scratchModel)
    : undefined;
  if ((!tuned && !architecture) || !scratchE || !scratchB) return undefined;

  // An architecture has no pruned model: its speed is that of the trained Scratch-E model.
  const latencyModelDir = architecture ? path.join(variantDir, 'scratch-e', 'best') : prunedDir;
  const latency = await measuredLatency(path.join(variantDir, LATENCY_JSON), baselineDir, latencyModelDir);
  const stages = [base, ...(tuned ? [tuned] : []), scratchE, scratchB];
  const paper = paperNumbers(method.reference, variantName, dataset);
  return {
    row_kind: 'run',
    method: method.name,
    model: variant.base,
    dataset,
    variant: variantName,
    profile: profileLabel(o.profile),
    backend: agreed(stages.map((s) => s.backend)),
    threads: agreed(stages.map((s) => s.threads)),
    seed: o.seed,
    params: full.params,
    flops: full.flops,
    pruned_params: small.params,
    pruned_flops: small.flops,
    params_reduction_pct: pct(small.params, full.params),
    flops_reduction_pct: pct(small.flops, full.flops),
    sparsity_pct: pruned.sparsity === undefined ? null : Math.round(10000 * pruned.sparsity) / 100,
    latency_backend: latency.backend,
    latency_ms_b1: latency.unpruned.b1,
    pruned_latency_ms_b1: latency.pruned.b1,
    latency_ms_b64: latency.unpruned.b64,
    pruned_latency_ms_b64: latency.pruned.b64,
    acc_before_finetune: pruned.accuracyBeforeFineTune,
    acc_baseline: base.bestTop1,
    acc_baseline_plain: plainBase?.bestTop1 ?? null,
    acc_finetuned: tuned?.bestTop1 ?? null,
    acc_scratch_e: scratchE.bestTop1,
    acc_scratch_b: scratchB.bestTop1,
    epochs_baseline: base.epochs,
    epochs_finetune: tuned?.epochs ?? null,
    epochs_scratch_e: scratchE.epochs,
    epochs_scratch_b: scratchB.epochs,
    paper_acc_baseline: paper?.baseline ?? null,
    paper_acc_finetuned: paper?.finetuned ?? null,
    paper_acc_scratch_e: paper?.scratchE ?? null,
    paper_acc_scratch_b: paper?.scratchB ?? null,
    paper_source: paper?.source ?? null,
    baseline_seconds: Math.round(base.trainSeconds + (plainBase?.trainSeconds ?? 0)),
    train_seconds: Math.round((tuned?.trainSeconds ?? 0) + scratchE.trainSeconds + scratchB.trainSeconds),
  };
}
