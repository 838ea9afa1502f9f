import * as fs from 'fs';
import * as path from 'path';
import type * as tf from '@tensorflow/tfjs';
import type { DatasetInfo } from '@rethink-prune/datasets';
import { activeBackend } from './backend';
import { countSpec } from './counting';
import { writeFileAtomic } from './fs-atomic';
import { loadModelDir, readModelSpec, saveModelDir } from './model-io';
import type { Profile } from './profiles';
import type { ResultRow } from './results';
import { buildModel, type ArchSpec } from './spec';
import { testBatches, type TrainingData } from './data/source';
import { evaluate } from './train/evaluate';
import { readTrainResult, train, type TrainResult } from './train/loop';
import { cifarRecipe, fineTuneRecipe, imagenetRecipe, imagenetScratchBRecipe, scratchBEpochs, type Recipe } from './train/recipe';

/**
 * The paper's experiment for one structured pruning method, model and variant:
 *   baseline → prune → fine-tune,  Scratch-E (same epochs),  Scratch-B (epochs × FLOPs ratio)
 * Every stage reads and writes files under the run directory: a finished stage (result.json) is never run
 * again, an interrupted one resumes from its checkpoint, and the baseline is shared by the variants of a model.
 */
export interface StructuredPruner {
  /** Returns the pruned spec and a model holding the inherited weights. */
  prune(model: tf.LayersModel, spec: ArchSpec): { spec: ArchSpec; model: tf.LayersModel };
}

export interface PaperNumbers {
  baseline?: number;
  finetuned?: number;
  scratchE?: number;
  scratchB?: number;
  source: string;
}

export interface Experiment {
  method: string;
  /** Name of the unpruned model (`vgg16`) and of the pruned variant (`vgg16-A`). */
  model: string;
  variant: string;
  spec: ArchSpec;
  pruner: StructuredPruner;
  profile: Profile;
  seed: number;
  paper?: PaperNumbers;
}

/** The stages of an experiment, in order; each needs the baseline and (but the baseline) the pruned model. */
export const STAGES = ['baseline', 'prune', 'finetune', 'scratch-e', 'scratch-b'] as const;
export type StageName = (typeof STAGES)[number];

/** The data of an experiment: in memory or ImageNet folders; `info.name` names the dataset in results. */
export type ExperimentData = TrainingData & { info: DatasetInfo & { name: string } };

/**
 * The seed's recipes, scaled by the profile: CIFAR (baseline 160 epochs, fine-tune 40, Scratch-B steps at
 * 50%/75%) or ImageNet (90, 20, and main_B.py's schedule). Scratch-B depends on the FLOPs of both models.
 */
export function experimentRecipes(p: Profile, dataset: string):
  { baseline: Recipe; finetune: Recipe; scratchB(fullFlops: number, prunedFlops: number): Recipe } {
  if (dataset === 'imagenet') {
    const q = p.imagenet;
    return {
      baseline: { ...imagenetRecipe(q.epochs), batchSize: q.batchSize },
      finetune: { ...fineTuneRecipe(q.finetuneEpochs), batchSize: q.batchSize },
      scratchB: (full, pruned) => ({ ...imagenetScratchBRecipe(q.epochs, full, pruned), batchSize: q.batchSize }),
    };
  }
  return {
    baseline: { ...cifarRecipe(p.epochs), batchSize: p.batchSize },
    finetune: { ...fineTuneRecipe(p.finetuneEpochs), batchSize: p.batchSize },
    scratchB: (full, pruned) => ({ ...cifarRecipe(scratchBEpochs(p.epochs, full, pruned)), batchSize: p.batchSize }),
  };
}

const pct = (part: number, whole: number) => Math.round(10000 * (1 - part / whole)) / 100;

/**
 * Runs the experiment's stages (only `only` and what it needs, when given) and returns its result row once
 * every stage is done.
 */
export async function runExperiment(e: Experiment, data: ExperimentData, runRoot: string, only?: StageName): Promise<ResultRow | undefined> {
  const wanted = (s: StageName) => only === undefined || s === only;
  const modelDir = path.join(runRoot, data.info.name, e.model, `seed${e.seed}`);
  const variantDir = path.join(modelDir, e.variant);
  const limit = { train: e.profile.trainLimit, test: e.profile.testLimit };
  const { baseline, finetune, scratchB: scratchBRecipe } = experimentRecipes(e.profile, data.info.name);
  const stage = async (name: string, dir: string, spec: ArchSpec, model: () => Promise<tf.LayersModel> | tf.LayersModel,
    recipe: Recipe, seed: number): Promise<TrainResult> => {
    const done = readTrainResult(dir);
    if (done) return done;
    const m = await model();
    try {
      return await train({ model: m, spec, data, recipe, seed, runDir: dir, limit, label: `${e.method} ${e.variant} ${name}` });
    } finally {
      m.dispose();
    }
  };

  const base = await stage('baseline', path.join(modelDir, 'baseline'), e.spec, () => buildModel(e.spec, e.seed), baseline, e.seed);
  if (only === 'baseline') return undefined;

  // Prune the best baseline checkpoint, as the seed's scripts prune model_best.
  const prunedDir = path.join(variantDir, 'pruned');
  if (!fs.existsSync(path.join(prunedDir, 'prune.json'))) {
    const trained = await loadModelDir(path.join(modelDir, 'baseline', 'best'));
    const pruned = e.pruner.prune(trained.model, trained.spec);
    const acc = evaluate(pruned.model, testBatches(data, { limit: limit.test }), [data.info.height, data.info.width, data.info.channels]);
    await saveModelDir(prunedDir, pruned.model, pruned.spec);
    writeFileAtomic(path.join(prunedDir, 'prune.json'), JSON.stringify({ spec: pruned.spec, accuracyBeforeFineTune: acc }, null, 2));
    trained.model.dispose();
    pruned.model.dispose();
  }
  if (only === 'prune') return undefined;
  const prunedSpec = readModelSpec(prunedDir);
  const full = countSpec(e.spec);
  const small = countSpec(prunedSpec);
  const scratchSeed = e.seed + 1000;
  const recipeB = scratchBRecipe(full.flops, small.flops);

  const tuned = wanted('finetune') ? await stage('fine-tune', path.join(variantDir, 'finetune'), prunedSpec,
    async () => (await loadModelDir(prunedDir)).model, finetune, e.seed) : undefined;
  const scratchE = wanted('scratch-e') ? await stage('scratch-E', path.join(variantDir, 'scratch-e'), prunedSpec,
    () => buildModel(prunedSpec, scratchSeed), baseline, scratchSeed) : undefined;
  const scratchB = wanted('scratch-b') ? await stage('scratch-B', path.join(variantDir, 'scratch-b'), prunedSpec,
    () => buildModel(prunedSpec, scratchSeed), recipeB, scratchSeed) : undefined;
  if (!tuned || !scratchE || !scratchB) return undefined;

  const backend = activeBackend();
  return {
    method: e.method, model: e.model, dataset: data.info.name, variant: e.variant, profile: e.profile.name,
    backend: backend?.name ?? base.backend, threads: backend?.threads ?? base.threads, seed: e.seed,
    params: full.params, flops: full.flops, pruned_params: small.params, pruned_flops: small.flops,
    params_reduction_pct: pct(small.params, full.params), flops_reduction_pct: pct(small.flops, full.flops),
    acc_baseline: base.bestTop1, acc_finetuned: tuned.bestTop1, acc_scratch_e: scratchE.bestTop1, acc_scratch_b: scratchB.bestTop1,
    epochs_baseline: baseline.epochs, epochs_finetune: finetune.epochs, epochs_scratch_b: recipeB.epochs,
    paper_acc_baseline: e.paper?.baseline ?? null, paper_acc_finetuned: e.paper?.finetuned ?? null,
    paper_acc_scratch_e: e.paper?.scratchE ?? null, paper_acc_scratch_b: e.paper?.scratchB ?? null,
    paper_source: e.paper?.source ?? null,
    train_seconds: Math.round(base.trainSeconds + tuned.trainSeconds + scratchE.trainSeconds + scratchB.trainSeconds),
  };
}
