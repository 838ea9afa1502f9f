import * as fs from 'fs';
import * as path from 'path';
import type * as tf from '@tensorflow/tfjs';
import { countSpec } from '../pruning/counting';
import { channelGroups } from '../pruning/graph';
import { readJsonFile, writeFileAtomic } from '../fs-atomic';
import { applyMasks, maskSparsity, type MaskSet } from '../pruning/masks';
import { loadModelDir, saveModelDir } from '../model-io';
import type { ArchSpec } from '../spec';
import { pruneChannels, type KeepSets } from '../pruning/surgery';
import { testBatches, trainingImages, type TrainingData } from '../data/source';
import { evaluate } from '../train/evaluate';
import { RunDirError } from '../errors';
import { methodVariant, variantPruner, type MethodDefinition, type MethodVariant, type PruneContext } from './method';
import { train } from '../train/loop';
import type { Recipe } from '../train/recipe';
import { cachedStage } from './cached-stage';

export class NothingPrunedError extends Error {
  constructor(variantName: string, what: string) {
    super(
      `${variantName} removes nothing from this model (${what}); a prune that removes nothing is refused. ` +
        "Check that the model is the variant's architecture and not already pruned",
    );
    this.name = 'NothingPrunedError';
  }
}

export interface PrunedModel {
  spec: ArchSpec;
  model: tf.LayersModel;
  /** Structured pruners: the channels kept per group. */
  keep?: KeepSets;
  /** Unstructured pruners: 0/1 masks (the model's weights are already zero where the mask is). */
  masks?: MaskSet;
  sparsity?: number;
  /** The method's own report of the prune (pruneReport). */
  report?: Record<string, string | number>;
}

/** What else a prune may use: a variant given on the command line, test accuracy, training images. */
export interface PruneExtras<V extends MethodVariant> {
  variant?: V;
  evaluate?: (model: tf.LayersModel) => number;
  /** Training images for a pruner that reads them (`pruner.images`). */
  images?: tf.Tensor4D;
  /** The prune round (default 1) of `rounds` (default 1), and the previous round's masks (PruneContext). */
  round?: number;
  rounds?: number;
  previous?: MaskSet;
  /** Fine-tuning between a pruner's steps (PruneContext.fineTune), where the prune has training data. */
  fineTune?: PruneContext<V>['fineTune'];
}

/**
 * Prunes a trained model with a method's variant (by name, or given: a variant from the command line).
 * `fullSpec` is the variant's full-width architecture (targets are computed on it and scaled to the model's
 * widths). Refuses a prune that removes nothing.
 */
export async function pruneModel<V extends MethodVariant>(
  method: MethodDefinition<V>,
  variantName: string,
  model: tf.LayersModel,
  spec: ArchSpec,
  fullSpec: ArchSpec,
  extras: PruneExtras<V> = {},
): Promise<PrunedModel> {
  const { variant = methodVariant(method, variantName), evaluate, images, round = 1, rounds = 1, previous, fineTune } = extras;
  const pruner = variantPruner(method, variant);
  if (pruner.images !== undefined && images === undefined) {
    throw new Error(`${method.name} reads ${pruner.images} training images to prune; none were given`);
  }
  const ctx = { model, spec, fullSpec, variant, variantName, round, rounds, ...(previous ? { previous } : {}),
    ...(images ? { images } : {}), ...(fineTune ? { fineTune } : {}) };
  const withReport = (pruned: PrunedModel): PrunedModel => {
    const report = method.pruneReport?.({ ...ctx, pruned, evaluate });
    return report ? { ...pruned, report } : pruned;
  };
  if (pruner.kind === 'unstructured') {
    const masks = pruner.masks(ctx);
    const sparsity = maskSparsity(masks);
    if (sparsity === 0) throw new NothingPrunedError(variantName, 'every mask keeps every weight');
    applyMasks(model, masks); // the same spec: the masks zero the trained model's weights in place
    return withReport({ spec, model, masks, sparsity });
  }
  if ('transform' in pruner) {
    const { report, ...transformed } = pruner.transform(ctx);
    if (JSON.stringify(transformed.spec) === JSON.stringify(spec)) {
      transformed.model.dispose();
      throw new NothingPrunedError(variantName, 'the architecture is unchanged');
    }
    const pruned = withReport(transformed);
    return report ? { ...pruned, report: { ...report, ...pruned.report } } : pruned;
  }
  const { keep, model: source } = 'reconstruct' in pruner ? await pruner.reconstruct(ctx) : { keep: pruner.keepSets(ctx), model };
  // Nothing goes when every keep-set holds all the channels its group has now (a selection: those selected).
  const removes = channelGroups(spec).some(
    (g) => keep[g.id] && keep[g.id].length < (g.selection?.current.length ?? g.size),
  );
  if (!removes) {
    if (source !== model) source.dispose();
    throw new NothingPrunedError(variantName, "every keep-set holds all of its group's channels");
  }
  const result = pruneChannels(source, spec, keep);
  if (source !== model) source.dispose();
  return withReport({ ...result, keep });
}

/**
 * PruneContext.fineTune in the prune stage: the training loop on the stage's data at the fine-tune recipe's LR and
 * batch (constant LR unless `milestones`), in a scratch folder of the stage that is removed afterwards.
 */
function betweenSteps<V extends MethodVariant>(spec: ArchSpec, o: PruneStageOptions): PruneContext<V>['fineTune'] {
  return async (model, masks, { epochs, label, milestones = [] }) => {
    const runDir = path.join(o.dir, 'between-steps');
    fs.rmSync(runDir, { recursive: true, force: true });
    try {
      await train({ model, spec, data: o.data, recipe: { ...o.finetuneRecipe, epochs, milestones, gamma: 0.1 },
        seed: 0, runDir, limit: { train: o.trainLimit, test: o.testLimit }, hooks: { masks }, label });
    } finally {
      fs.rmSync(runDir, { recursive: true, force: true });
    }
  };
}

/** What the prune stage records in prune.json (and returns). */
export interface PruneRecord {
  identity: Record<string, unknown>;
  spec: ArchSpec;
  keep?: KeepSets;
  masks?: boolean;
  sparsity?: number;
  /** Top-1 of the pruned model before any fine-tuning (null for a published architecture: nothing inherited). */
  accuracyBeforeFineTune: number | null;
  /** The method's own report of the prune (pruneReport). */
  report?: Record<string, string | number>;
  /** Wall seconds the prune took, with any fine-tuning between its steps (ThiNet's layer by layer). */
  seconds?: number;
}

export interface PruneStageOptions {
  dir: string;
  /** The trained model to prune (its `best/`): the baseline, or an iterative round's previous ticket. */
  sourceDir: string;
  round: number;
  rounds: number;
  /** The previous round's pruned model directory (its masks stay in force), for rounds after the first. */
  previousDir?: string;
  fullSpec: ArchSpec;
  identity: Record<string, unknown>;
  data: TrainingData;
  trainLimit?: number;
  testLimit?: number;
  fresh: boolean;
  /** The fine-tune stage's recipe, whose LR and batch a pruner's fine-tuning between its steps takes. */
  finetuneRecipe: Recipe;
}

export const PRUNE_JSON = 'prune.json';

/**
 * Prunes the best checkpoint of the source (the seed's scripts prune model_best) once, and records what it did.
 */
export async function pruneStage<V extends MethodVariant>(
  method: MethodDefinition<V>,
  variantName: string,
  o: PruneStageOptions,
): Promise<PruneRecord> {
  const file = path.join(o.dir, PRUNE_JSON);
  const finished = () => {
    if (!fs.existsSync(file)) return undefined;
    const done = readJsonFile(
      file,
      (problem) => new RunDirError(file, `${problem}; rerun with --fresh to prune again`),
    ) as PruneRecord;
    return { identity: done.identity, reuse: () => done };
  };
  return cachedStage({ dir: o.dir, identity: o.identity, fresh: o.fresh, finished,
    run: () => prune(method, variantName, o, file) });
}

async function prune<V extends MethodVariant>(
  method: MethodDefinition<V>,
  variantName: string,
  o: PruneStageOptions,
  file: string,
): Promise<PruneRecord> {
  const start = Date.now();
  const trained = await loadModelDir(path.join(o.sourceDir, 'best'));
  const variant = methodVariant(method, variantName);
  const count = variantPruner(method, variant).images;
  const images = count === undefined ? undefined : await trainingImages(o.data, count, { seed: 0, limit: o.trainLimit });
  const previous = o.previousDir ? (await loadModelDir(o.previousDir)) : undefined;
  previous?.model.dispose();
  try {
    const info = o.data.info;
    const top1 = (model: tf.LayersModel) =>
      evaluate(model, testBatches(o.data, { limit: o.testLimit }), [info.height, info.width, info.channels]).top1;
    const pruned = await pruneModel(method, variantName, trained.model, trained.spec, o.fullSpec,
      { evaluate: top1, images, round: o.round, rounds: o.rounds, previous: previous?.masks,
        fineTune: betweenSteps(trained.spec, o) });
    const accuracy = { top1: top1(pruned.model) };
    await saveModelDir(o.dir, pruned.model, pruned.spec, pruned.masks);
    const record: PruneRecord = {
      identity: o.identity,
      spec: pruned.spec,
      ...(pruned.keep ? { keep: pruned.keep } : {}),
      ...(pruned.masks ? { masks: true, sparsity: pruned.sparsity } : {}),
      accuracyBeforeFineTune: accuracy.top1,
      ...(pruned.report ? { report: pruned.report } : {}),
      seconds: Math.round((Date.now() - start) / 1000),
    };
    writeFileAtomic(file, JSON.stringify(record, null, 2));
    const [before, after] = [countSpec(trained.spec), countSpec(pruned.spec)];
    const fewer = (a: number, b: number) => `${(100 * (1 - b / a)).toFixed(1)}% fewer`;
    const removed = pruned.sparsity === undefined
      ? `params ${fewer(before.params, after.params)}, FLOPs ${fewer(before.flops, after.flops)}`
      : `${(100 * pruned.sparsity).toFixed(1)}% of masked weights zero`;
    const label = o.round > 1 ? `${method.name} ${variantName} round ${o.round}` : `${method.name} ${variantName}`;
    process.stderr.write(`${label} prune: ${removed}, top-1 before fine-tuning ` +
      `${accuracy.top1.toFixed(2)}%\n`);
    for (const [key, value] of Object.entries(pruned.report ?? {})) {
      process.stderr.write(`${label} prune: ${key}: ${value}\n`);
    }
    if (pruned.model !== trained.model) pruned.model.dispose();
    for (const m of pruned.masks?.values() ?? []) m.dispose();
    return record;
  } finally {
    trained.model.dispose();
    for (const m of trained.masks?.values() ?? []) m.dispose(); // an iterative round's source ticket has masks
    images?.dispose();
    for (const m of previous?.masks?.values() ?? []) m.dispose();
  }
}
