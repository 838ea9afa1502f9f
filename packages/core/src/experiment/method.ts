import type * as tf from '@tensorflow/tfjs';
import type { DatasetName } from '@rethink-prune/datasets';
import type { MaskSet } from '../pruning/masks';
import type { Profile } from '../profiles';
import type { ArchSpec } from '../spec';
import type { KeepSets } from '../pruning/surgery';
import type { TrainingHooks } from '../train/loop';
import type { Recipe } from '../train/recipe';
import type { ResultRow } from '../results';
import type { ReferenceRow } from './reference';
import type { TrainedStage } from './stage-graph';

/**
 * A pruning method as the experiment framework runs it. A method package gives one of these and little else:
 * its variants, its criterion (the pruner), and where it departs from the plain paper experiment (a baseline
 * trained with hooks, its own recipes, scratch runs from the saved initial weights, its own Scratch-B budget).
 */
export interface MethodVariant {
  /** The unpruned model, as `namedSpec` names it (`vgg16`, `resnet56`, `resnet34-imagenet`). */
  base: string;
  /**
   * A published pruned architecture (ThiNet-30, VGG-16-5x), at full width: the experiment trains it from scratch
   * (Scratch-E, Scratch-B) against the trained `base`, without pruning or fine-tuning anything (the paper takes
   * those numbers from the method's authors).
   */
  architecture?: ArchSpec;
}

/** What a pruner sees: the trained model and its spec, the same architecture at full width, and the variant. */
export interface PruneContext<V extends MethodVariant> {
  model: tf.LayersModel;
  spec: ArchSpec;
  /** The paper's full-width model of the variant: targets are computed on it, then scaled to `spec`. */
  fullSpec: ArchSpec;
  variant: V;
  variantName: string;
  /** The prune round, from 1, of `rounds` (methods with `rounds`: prune → train → prune again). */
  round: number;
  rounds: number;
  /** The masks of the previous round's prune, which an iterative round keeps in force. */
  previous?: MaskSet;
  /**
   * Training images (normalised, NHWC), for a pruner that names a count in `images`: data-driven criteria
   * (ThiNet, feature reconstruction) sample the network's activations on them.
   */
  images?: tf.Tensor4D;
  /**
   * Trains a model in place for `epochs` on the training data at the fine-tune LR (constant), the weights `masks`
   * zero held at zero: for a pruner that fine-tunes between its steps (ThiNet's authors' schedule). Given where the
   * prune runs with data (the prune stage), absent where it does not (pruning a saved model from the CLI).
   */
  fineTune?(model: tf.LayersModel, masks: MaskSet, o: { epochs: number; label: string; milestones?: number[] }): Promise<void>;
}

/** A structured prune that also rewrites the kept weights (feature reconstruction): keep-sets and the new model. */
export interface Reconstruction {
  keep: KeepSets;
  /** The same spec as the pruned model, with the rewritten weights; surgery then slices it to the kept channels. */
  model: tf.LayersModel;
}

/**
 * Structured: keep-sets per channel group; core's surgery builds the smaller spec and slices the weights. A
 * method that also changes the kept weights gives `reconstruct` instead (keep-sets and a rewritten model of the
 * same spec); one that changes the architecture otherwise gives `transform` (the new spec and model). Unstructured: masks on the same spec. `images`: how many training images the pruner reads (given
 * in `PruneContext.images`). `version` names the criterion's revision: it is part of every run key, so results of
 * an older one are stale.
 */
export type Pruner<V extends MethodVariant> =
  | { kind: 'structured'; version: string; images?: number; keepSets(ctx: PruneContext<V>): KeepSets }
  | { kind: 'structured'; version: string; images?: number;
    reconstruct(ctx: PruneContext<V>): Reconstruction | Promise<Reconstruction> }
  | { kind: 'structured'; version: string; images?: number; transform(ctx: PruneContext<V>): Transformed }
  | { kind: 'unstructured'; version: string; images?: number; masks(ctx: PruneContext<V>): MaskSet };

/**
 * A structured prune that changes more than widths (SSS removes residual blocks): the new spec and its model with
 * the inherited weights, and what the method wants reported (which blocks went).
 */
export interface Transformed {
  spec: ArchSpec;
  model: tf.LayersModel;
  report?: Record<string, string | number>;
}

/**
 * Training that departs from the plain recipe for one stage: hooks (an L1 term on BN γ, filters zeroed after
 * each epoch), identified by `id` and `params`, which go into the stage's run key.
 */
export interface StageTraining {
  id: string;
  params?: Record<string, unknown>;
  hooks(model: tf.LayersModel): TrainingHooks;
  /**
   * Baseline only: where the hooked baseline starts. `plain-baseline`: from the trained plain baseline's best
   * weights (SFP from a pretrained model); absent: a fresh initialisation.
   */
  start?: 'plain-baseline';
  /** The recipe of this stage, from the one it would train with otherwise (SFP from a pretrained model: LR ÷10). */
  recipe?(plain: Recipe): Recipe;
}


/** The recipes of one experiment; Scratch-B depends on the FLOPs of the full and the pruned model. */
export interface StageRecipes {
  baseline: Recipe;
  finetune: Recipe;
  scratchB(fullFlops: number, prunedFlops: number): Recipe;
}

export interface MethodDefinition<V extends MethodVariant = MethodVariant> {
  /** Written in every result row (`l1-norm`). */
  name: string;
  /** The CLI's name (`prune-l1`) and one line saying what the method is. */
  command: string;
  title: string;
  /** The npm package that exports this definition (`@rethink-prune/method-l1`): queue workers import it by name. */
  package?: string;
  variants: Record<string, V>;
  /** Variants a run uses when none are named. */
  defaultVariants(profile: Profile, dataset: DatasetName): string[];
  pruner: Pruner<V>;
  /** Stage training with hooks; undefined (the default) trains plainly. Masks of unstructured pruners are added by core. */
  training?(stage: TrainedStage, variant: V): StageTraining | undefined;
  /**
   * Also train the baseline without its hooks (in `baseline/`) and report it as `acc_baseline_plain`: for a
   * method whose pruned model comes from a specially trained baseline (slimming's sparsity training).
   */
  plainBaseline?: boolean;
  /**
   * A `prune` option that describes a variant on the command line instead of naming one (slimming's
   * `--percent 0.6`), for any model the method applies to (its `base` is the given model); `variant` throws on
   * a bad value. `value` names the value in --help, `help` says what the option does.
   */
  pruneOption?: { name: string; value: string; help: string; variant(value: string): Omit<V, 'base'> };
  /** The method's own recipes, from the paper experiment's defaults; `variant` for per-model rules (VGG at LR 0.01). */
  recipes?(defaults: StageRecipes, profile: Profile, dataset: DatasetName, variant: V): StageRecipes;
  /**
   * Where the pruned architecture's scratch runs start: `fresh`, a new initialisation (the paper's Scratch-E and
   * Scratch-B; the default), and/or `saved-init`, the baseline's own initial weights cut to the pruned architecture
   * (a winning ticket, Frankle & Carbin). Each start is a run of its own (`scratch-e/`, `scratch-e-saved-init/`).
   */
  scratchStarts?: readonly ScratchStart[];
  /** Trained stages the method does not run (lottery tickets compare two scratch starts: no fine-tuning, no Scratch-B). */
  skips?: readonly TrainedStage[];
  /**
   * Prune rounds (default: one, and no round folders). Round r > 1 prunes the baseline again (one-shot at the round's
   * target) or, where `iterate` says so, the previous round's Scratch-E from the saved initialisation: prune → rewind
   * → train. Each round is a result row.
   */
  rounds?(variant: V, profile: Profile, requested?: number): number;
  iterate?(variant: V): boolean;
  /** The initial LRs a grid compares when none are given (lottery tickets: 0.1 and 0.01); default: the profile's. */
  learningRates?(profile: Profile): number[];
  /**
   * A pruner per variant, where one method has several kinds (lottery tickets: filters zeroed by masks, or cut out);
   * default `pruner`.
   */
  prunerOf?(variant: V): Pruner<V>;
  /**
   * The method's own view of its rows, written beside the results table (`results-<dataset>-<name>.md`, and `.svg`
   * where it draws one) and printed after it: lottery tickets put the winning ticket beside the random init.
   */
  report?: MethodReport;
  /**
   * Re-draws a fresh scratch model's weights before its masks apply (weight-level: the conv init's fan counts only the
   * weights its mask keeps, as the seed's cifar_E.py); `seed` is the scratch run's. Called for a masked model only:
   * a structured prune's scratch run is its architecture's own, the same under every method (reuse.ts).
   */
  initScratch?(model: tf.LayersModel, masks: MaskSet, seed: number, variant: V): void;
  /**
   * What else a prune should report (SFP: the dense model its zeros allow): printed by `prune` and the prune
   * stage, kept in prune.json. `evaluate` (top-1 %) is given where test data is at hand.
   */
  pruneReport?(ctx: PruneContext<V> & { pruned: { spec: ArchSpec; model: tf.LayersModel; masks?: MaskSet };
    evaluate?: (model: tf.LayersModel) => number }): Record<string, string | number>;
  /**
   * Commands of the method's own beside reproduce, prune, sparsity and variants (lottery tickets: `rewind`): each
   * takes the arguments after its name; `usage` is its line in --help. A UsageError it throws is reported as one.
   */
  commands?: Record<string, { usage: string; run(argv: string[]): Promise<void> }>;
  /** The paper's numbers, from the package's reference.json. */
  reference: ReferenceRow[];
}

/** Where a scratch run of the pruned architecture starts (see `MethodDefinition.scratchStarts`). */
export type ScratchStart = 'fresh' | 'saved-init';

export interface MethodReport {
  name: string;
  markdown(rows: ResultRow[]): string;
  chart?(rows: ResultRow[], title: string): Promise<string>;
}

/** The pruner of one variant. */
export const variantPruner = <V extends MethodVariant>(method: MethodDefinition<V>, variant: V): Pruner<V> =>
  method.prunerOf?.(variant) ?? method.pruner;

export class UnknownVariantError extends Error {
  constructor(method: MethodDefinition<any>, name: string) {
    super(`unknown ${method.name} variant '${name}'; known: ${Object.keys(method.variants).join(', ')}`);
    this.name = 'UnknownVariantError';
  }
}

/** Whether a module's export is a method (what a package exports for its CLI, the queue's workers and the study). */
export const isMethodDefinition = (value: unknown): value is MethodDefinition<any> =>
  typeof value === 'object' && value !== null && 'command' in value && 'variants' in value && 'pruner' in value;

export function methodVariant<V extends MethodVariant>(method: MethodDefinition<V>, name: string): V {
  if (!Object.prototype.hasOwnProperty.call(method.variants, name))
    throw new UnknownVariantError(method, name);
  return method.variants[name];
}
