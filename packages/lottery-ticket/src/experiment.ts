import * as fs from 'fs';
import * as path from 'path';
import type * as tf from '@tensorflow/tfjs';
import {
  applyMasks, buildModel, cachedStage, countSpec, experimentRecipes, experimentSpecs, loadModelDir, pruneChannels,
  runStage, saveModelDir, scaleTargets, sparseScratchInit, writeFileAtomic, type ArchSpec,
  type ExperimentData, type KeepSets, type MaskSet, type Profile, type StageJob, type TrainResult,
} from '@rethink-prune/core';
import { l1KeepSets, L1_VARIANTS, targetWidths } from '@rethink-prune/method-l1';
import { magnitudeMasks } from '@rethink-prune/method-weight-level';
import { convSparsity, filterMasks, nextRoundMasks, rewind } from './ticket';
import { ticketVariant, type TicketVariant } from './variants';

export const METHOD = 'lottery-ticket';
export type TicketInit = 'winning ticket' | 'random init';

/** One trained pruned network: a (model, pruning kind, LR, init, round) of one seed. */
export interface TicketRow {
  method: string;
  dataset: string;
  model: string;
  variant: string;
  kind: 'structured' | 'unstructured';
  form: 'mask' | 'compact';
  schedule: 'one-shot' | 'iterative';
  profile: string;
  seed: number;
  lr: number;
  round: number;
  init: TicketInit;
  /** Conv weights the masks zero, % of all conv weights (a compact ticket: those its surgery removed). */
  sparsity_pct: number;
  params: number;
  flops: number;
  acc_top1: number;
  acc_final: number;
  acc_baseline: number;
  epochs: number;
  backend: string;
  threads: number;
  train_seconds: number;
}

export interface TicketOptions {
  profile: Profile;
  seed: number;
  data: ExperimentData;
  /** `<runRoot>/<dataset>/<model>/seed<k>/lr<lr>/{baseline, <variant>/round<r>/{pruned, ticket, random}}`. */
  runRoot: string;
  lr: number;
  /** Iterative: rounds of pruning; one-shot: the sparsities of as many iterative rounds, each from the baseline. */
  rounds: number;
  /** Share of the remaining conv weights one round prunes (unstructured). */
  rate: number;
  fresh: boolean;
}

/** What a round's prune gives: the masks on the full-size spec, and the keep-sets of a structured prune. */
interface RoundPrune { masks: MaskSet; keep?: KeepSets; sparsity: number }
interface PruneFile { identity: Record<string, unknown>; sparsity: number; keep?: KeepSets }
const PRUNE_JSON = 'prune.json';

/** The random arm's seed: independent of the baseline's (the seed's scripts reuse it by accident). */
export const randomInitSeed = (seed: number) => seed + 1000;

const pct = (share: number) => Math.round(10000 * share) / 100;

/**
 * The paper's lottery-ticket comparison for one variant, seed and initial LR: the baseline (its initial weights
 * saved), then per round a prune, the winning ticket (the pruned network from those initial weights) and the random
 * re-init (the same pruned network from a fresh init), both trained with the baseline's recipe. Iterative rounds
 * prune the previous round's trained ticket. Every stage is reused when its run key matches, as in core.
 */
export async function runTicketExperiment(variantName: string, o: TicketOptions): Promise<TicketRow[]> {
  const variant = ticketVariant(variantName);
  const dataset = o.data.info.name;
  const { fullSpec, spec } = experimentSpecs(variant, variantName, dataset, o.profile);
  const recipe = { ...experimentRecipes(o.profile, dataset).baseline, lr: o.lr };
  const limit = { train: o.profile.trainLimit, test: o.profile.testLimit };
  const lrDir = path.join(o.runRoot, dataset, variant.base, `seed${o.seed}`, `lr${o.lr}`);
  const common = { method: METHOD, profile: o.profile.name, seed: o.seed, data: { dataset, limit } };
  const stageOptions = { data: o.data, limit, fresh: o.fresh };
  const label = (stage: string) => `${METHOD} ${variantName} lr ${o.lr} ${stage}`;

  const baselineDir = path.join(lrDir, 'baseline');
  const initDir = path.join(baselineDir, 'init');
  const baselineIdentity = { ...common, stage: 'baseline', model: variant.base, spec, recipe };
  const baseline = await runStage({
    dir: baselineDir, identity: baselineIdentity, spec, recipe, seed: o.seed, label: `${METHOD} ${variant.base} lr ${o.lr} baseline`,
    makeModel: async () => {
      const model = buildModel(spec, o.seed);
      // The ticket's initial weights: saved before the first step.
      if (!fs.existsSync(path.join(initDir, 'spec.json'))) await saveModelDir(initDir, model, spec);
      return model;
    },
  }, stageOptions);

  const rows: TicketRow[] = [];
  const rounds = variant.kind === 'structured' ? 1 : o.rounds;
  let source = { dir: path.join(baselineDir, 'best'), identity: baselineIdentity as Record<string, unknown> };
  let previous: MaskSet | undefined;
  for (let round = 1; round <= rounds; round++) {
    const roundDir = path.join(lrDir, variantName, `round${round}`);
    const rule = pruneRule(variant, round, o.rate);
    const pruneIdentity = { ...common, stage: 'prune', variant: variantName, round, rule, source: source.identity };
    const pruned = await pruneRound(path.join(roundDir, 'pruned'), pruneIdentity, o.fresh, async () => {
      const { model, spec: sourceSpec } = await loadModelDir(source.dir);
      return { ...prune(variant, model, spec, fullSpec, round, o.rate, previous), model, spec: sourceSpec };
    });
    process.stderr.write(`${label(`round ${round}`)}: ${pct(pruned.sparsity).toFixed(2)}% of conv weights pruned\n`);

    const compact = variant.kind === 'structured' && variant.form === 'compact';
    const trainedSpec = compact ? pruneChannels(buildModel(spec, 0), spec, pruned.keep!).spec : spec;
    const masks = compact ? undefined : pruned.masks;
    const stage = (init: TicketInit, seed: number, makeModel: StageJob['makeModel']): Promise<TrainResult> => {
      const name = init === 'winning ticket' ? 'ticket' : 'random';
      const identity = { ...common, stage: name, variant: variantName, round, spec: trainedSpec, recipe, init,
        pruned: pruneIdentity };
      return runStage({ dir: path.join(roundDir, name), identity, spec: trainedSpec, recipe, seed, makeModel, masks,
        label: label(`round ${round} ${name}`) }, stageOptions);
    };
    const ticket = await stage('winning ticket', o.seed, () =>
      rewind(initDir, compact ? { spec, keep: pruned.keep! } : { masks: pruned.masks }));
    const random = await stage('random init', randomInitSeed(o.seed), () => {
      const model = buildModel(trainedSpec, randomInitSeed(o.seed));
      // cifar_scratch_no_longer.py re-draws each conv with the fan its kept weights give; main_scratch_mask.py
      // (structured) keeps the full-width init.
      if (variant.kind === 'unstructured') sparseScratchInit(model, masks, randomInitSeed(o.seed));
      return model;
    });

    const counts = countSpec(trainedSpec, masks);
    for (const [init, result] of [['winning ticket', ticket], ['random init', random]] as const) {
      rows.push({
        method: METHOD, dataset, model: variant.base, variant: variantName, kind: variant.kind,
        form: variant.kind === 'structured' ? variant.form : 'mask',
        schedule: variant.kind === 'structured' ? 'one-shot' : variant.schedule,
        profile: o.profile.name, seed: o.seed, lr: o.lr, round, init, sparsity_pct: pct(pruned.sparsity),
        params: counts.params, flops: counts.flops, acc_top1: result.bestTop1, acc_final: result.final.top1,
        acc_baseline: baseline.bestTop1, epochs: result.epochs, backend: result.backend, threads: result.threads,
        train_seconds: Math.round(result.trainSeconds),
      });
    }
    for (const mask of previous?.values() ?? []) mask.dispose();
    previous = pruned.masks;
    if (variant.kind === 'unstructured' && variant.schedule === 'iterative') {
      source = { dir: path.join(roundDir, 'ticket', 'best'), identity: ticketIdentityOf(roundDir) };
    }
  }
  for (const mask of previous?.values() ?? []) mask.dispose();
  return rows;
}

/** The identity the ticket stage of a round recorded (its result.json): the next round's source. */
function ticketIdentityOf(roundDir: string): Record<string, unknown> {
  const result = JSON.parse(fs.readFileSync(path.join(roundDir, 'ticket', 'result.json'), 'utf8'));
  return result.identity;
}

/** What decides a round's masks, for its run key. */
function pruneRule(variant: TicketVariant, round: number, rate: number): Record<string, unknown> {
  if (variant.kind === 'structured') return { l1: variant.l1, criterion: 'l1-norm 2' };
  return variant.schedule === 'iterative' ? { rate } : { percent: oneShotShare(rate, round) };
}

/** The sparsity `round` iterative rounds at `rate` reach: 1 − (1 − rate)^round, pruned at once by one-shot runs. */
export const oneShotShare = (rate: number, round: number) => 1 - (1 - rate) ** round;

function prune(variant: TicketVariant, model: tf.LayersModel, spec: ArchSpec, fullSpec: ArchSpec, round: number,
  rate: number, previous?: MaskSet): RoundPrune {
  if (variant.kind === 'structured') {
    const widths = scaleTargets(targetWidths(fullSpec, L1_VARIANTS[variant.l1]), fullSpec, spec);
    const keep = l1KeepSets(model, spec, widths);
    const masks = filterMasks(model, keep);
    return { masks, keep, sparsity: convSparsity(model, masks) };
  }
  const masks = variant.schedule === 'iterative'
    ? nextRoundMasks(model, rate, previous)
    : magnitudeMasks(model, oneShotShare(rate, round));
  return { masks, sparsity: convSparsity(model, masks) };
}

/**
 * A round's prune, kept in `dir` (the pruned model: the source's weights with masks.json, and prune.json) and reused while
 * its run key matches; a stale one stops the run unless `fresh`.
 */
async function pruneRound(dir: string, identity: Record<string, unknown>, fresh: boolean,
  compute: () => Promise<RoundPrune & { model: tf.LayersModel; spec: ArchSpec }>): Promise<RoundPrune> {
  const file = path.join(dir, PRUNE_JSON);
  const finished = () => {
    if (!fs.existsSync(file)) return undefined;
    const saved = JSON.parse(fs.readFileSync(file, 'utf8')) as PruneFile;
    const reuse = async () => {
      const { model, masks } = await loadModelDir(dir);
      model.dispose();
      return { masks: masks!, keep: saved.keep, sparsity: saved.sparsity };
    };
    return { identity: saved.identity, reuse };
  };
  return cachedStage({ dir, identity, fresh, finished, run: () => savedPrune(dir, file, identity, compute) });
}

async function savedPrune(dir: string, file: string, identity: Record<string, unknown>,
  compute: () => Promise<RoundPrune & { model: tf.LayersModel; spec: ArchSpec }>): Promise<RoundPrune> {
  const { model, spec, ...pruned } = await compute();
  try {
    applyMasks(model, pruned.masks);
    await saveModelDir(dir, model, spec, pruned.masks);
  } finally {
    model.dispose();
  }
  const record: PruneFile = { identity, sparsity: pruned.sparsity, ...(pruned.keep ? { keep: pruned.keep } : {}) };
  writeFileAtomic(file, JSON.stringify(record, null, 2));
  return pruned;
}
