/**
 * The paper's comparison on a user's own model: the model as given is the trained baseline (evaluated, not
 * retrained); it is traced and pruned (L1, BN scale or random, by a ratio or a FLOPs target), then the pruned model is
 * fine-tuned, and the pruned architecture is trained from scratch for the same epochs (Scratch-E) and for the
 * baseline's compute (Scratch-B: epochs × FLOPs ratio). Every stage lives in its own folder of the run directory with
 * the run key that made it: a finished stage is reused, an interrupted one resumes, a changed one is refused as stale
 * (or, with `fresh`, run again).
 */
import * as crypto from 'crypto';
import * as fs from 'fs';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs';
import { CHART_FONT, vegaLiteSvg } from '../chart';
import { testBatches, type TrainingData } from '../data/source';
import type { DatasetName } from '../datasets-info';
import { cachedStage } from '../experiment/cached-stage';
import { runStage, type StageJob } from '../experiment/stage';
import { writeFileAtomic } from '../fs-atomic';
import { loadModelDir, readModelSpec, saveModelDir } from '../model-io';
import { layersSpec, type LayersSpec } from '../models/traced';
import { resultsCsv, resultsMarkdown, RESULT_COLUMNS, type ResultRow } from '../results';
import { buildModel } from '../spec';
import { reductionPct } from '../stats';
import { evaluate } from '../train/evaluate';
import { cifarRecipe, fineTuneRecipe, scratchBEpochs, sharedEpochs, type Recipe } from '../train/recipe';
import { layerFlops } from './model-files';
import { keepSetsForFlops, paramCount, pruneTracedModel, tracedKeepSets, type TracedCriterion } from './prune-traced';
import { traceModel } from './traced-graph';

export interface CompareOptions {
  /** The user's trained model, loaded (readLayersModel). */
  model: tf.LayersModel;
  /** Its name in the table (the model file's or folder's). */
  name: string;
  data: TrainingData;
  /** The spec's dataset label (`imagenet` for an image folder: its format). */
  dataset: DatasetName;
  /** What identifies the data in the run keys (the folder and its classes, the normalisation). */
  dataKey: Record<string, unknown>;
  /** The data's name in the table (`images:<folder>`, `cifar10`). */
  dataName: string;
  criterion: TracedCriterion;
  /** Share of every prunable group's channels to remove, or of the multiply-adds (`flopsTarget`). */
  ratio?: number;
  flopsTarget?: number;
  seed: number;
  /** Scratch-E's epochs (the baseline's, as the user trained it); Scratch-B scales them by the FLOPs ratio. */
  epochs: number;
  finetuneEpochs: number;
  lr: number;
  finetuneLr: number;
  batchSize: number;
  runDir: string;
  fresh: boolean;
  limit: { train?: number; test?: number };
  /** Layers the tracer does not know stay as they are instead of being an error. */
  barriers?: boolean;
}

export class CompareInputError extends Error {}

/** A run key of the user's model: its config and every weight's bytes (any file form of the same model agrees). */
export function modelFingerprint(model: tf.LayersModel): string {
  const hash = crypto.createHash('sha256').update(JSON.stringify(model.getConfig()));
  for (const w of model.weights) hash.update(w.originalName).update(Buffer.from((w.read().dataSync() as Float32Array).buffer));
  return hash.digest('hex').slice(0, 16);
}

/**
 * The model as a `layers` spec trained on logits: a softmax activation of the output layer is taken off (the argmax
 * stays); a separate Softmax layer at the output is refused, as is a model with several outputs.
 */
function logitsModel(model: tf.LayersModel, dataset: DatasetName): { spec: LayersSpec; model: tf.LayersModel; softmax: boolean } {
  if (model.outputLayers.length !== 1) {
    throw new CompareInputError(`the model has ${model.outputLayers.length} outputs; compare trains a classifier with one`);
  }
  const output = model.outputLayers[0];
  if (output.getClassName() === 'Softmax') {
    throw new CompareInputError(`the output layer '${output.name}' is a Softmax layer; remove it (the loss takes logits)`);
  }
  const spec = layersSpec(model, dataset);
  const layers = spec.config.layers as Array<{ name?: string; config: { name?: string; activation?: string } }>;
  const entry = layers.find((l) => (l.name ?? l.config.name) === output.name)!.config;
  const softmax = entry.activation === 'softmax';
  if (softmax) entry.activation = 'linear';
  const copy = buildModel(spec, 0);
  copy.setWeights(model.getWeights());
  return { spec, model: copy, softmax };
}

/** The data must fit the model: its input images and its number of classes. */
function checkFit(model: tf.LayersModel, data: TrainingData): void {
  const input = model.inputs[0].shape.slice(1);
  const { height, width, channels, classes } = data.info;
  if (input.join('×') !== [height, width, channels].join('×')) {
    throw new CompareInputError(`the model takes inputs of ${input.join('×')}, the data gives ${height}×${width}×${channels}`);
  }
  const outputs = model.outputs[0].shape[model.outputs[0].shape.length - 1];
  if (outputs !== classes) throw new CompareInputError(`the model has ${outputs} outputs, the data ${classes} classes`);
}

const top1Of = (model: tf.LayersModel, o: CompareOptions) =>
  evaluate(model, testBatches(o.data, { limit: o.limit.test }), [o.data.info.height, o.data.info.width, o.data.info.channels]).top1;

interface PruneRecord { identity: Record<string, unknown>; ratio: number; params: number; flops: number; accuracyBeforeFineTune: number }

export interface CompareResult { row: ResultRow; softmaxRemoved: boolean }

export async function runComparison(o: CompareOptions): Promise<CompareResult> {
  checkFit(o.model, o.data);
  const { spec, model: baseline, softmax } = logitsModel(o.model, o.dataset);
  const dir = (stage: string) => path.join(o.runDir, stage);
  const base = { model: modelFingerprint(baseline), data: { ...o.dataKey, limit: o.limit } };
  try {
    const baselineIdentity = { ...base, stage: 'baseline' };
    const { top1: baselineTop1 } = await cachedStage<{ identity: unknown; top1: number }>({
      dir: dir('baseline'), identity: baselineIdentity, fresh: o.fresh,
      finished: () => readJson<{ identity: unknown; top1: number }>(path.join(dir('baseline'), 'evaluation.json')),
      run: async () => {
        const record = { identity: baselineIdentity, top1: top1Of(baseline, o) };
        writeJson(path.join(dir('baseline'), 'evaluation.json'), record);
        return record;
      },
    });
    const pruneIdentity = { ...base, stage: 'prune', criterion: o.criterion, seed: o.seed, barriers: o.barriers ?? false,
      ...(o.flopsTarget !== undefined ? { flopsTarget: o.flopsTarget } : { ratio: o.ratio }) };
    const pruned = await cachedStage<PruneRecord>({
      dir: dir('pruned'), identity: pruneIdentity, fresh: o.fresh,
      finished: () => readJson<PruneRecord>(path.join(dir('pruned'), 'prune.json')),
      run: () => prune(baseline, o, pruneIdentity, dir('pruned')),
    });
    const prunedSpec = readModelSpec(dir('pruned'));
    const withBatch = (recipe: Recipe) => ({ ...recipe, batchSize: o.batchSize });
    const scratch = (epochs: number) => withBatch({ ...cifarRecipe(epochs), lr: o.lr });
    const recipes = {
      finetune: withBatch({ ...fineTuneRecipe(o.finetuneEpochs), lr: o.finetuneLr }),
      'scratch-e': scratch(o.epochs),
      'scratch-b': scratch(scratchBEpochs(o.epochs, layerFlops(baseline), pruned.flops)),
    };
    const job = (stage: string, recipe: Recipe) =>
      ({ dir: dir(stage), identity: { prune: pruneIdentity, stage, recipe }, spec: prunedSpec, recipe, seed: o.seed });
    // Scratch-B trains as Scratch-E until their LRs part, and starts from the state Scratch-E keeps there.
    const shared = sharedEpochs(recipes['scratch-e'], recipes['scratch-b']);
    const sharing: Record<string, Pick<StageJob, 'keepStateAfter' | 'startFrom'>> = shared === 0 ? {} : {
      'scratch-e': { keepStateAfter: shared },
      'scratch-b': { startFrom: { job: job('scratch-e', recipes['scratch-e']), epochs: shared } },
    };
    const accuracy: Record<string, number> = {};
    for (const [stage, recipe] of Object.entries(recipes)) {
      const result = await runStage({
        ...job(stage, recipe), label: `${o.name} ${stage}`, ...sharing[stage],
        makeModel: stage === 'finetune' ? async () => (await loadModelDir(dir('pruned'))).model : () => buildModel(prunedSpec, o.seed),
      }, { data: o.data, limit: o.limit, fresh: o.fresh });
      accuracy[stage] = result.bestTop1;
    }
    const row = comparisonRow(o, { baselineTop1, pruned, accuracy, recipes, full: { params: paramCount(baseline), flops: layerFlops(baseline) } });
    await writeReport(o, row);
    return { row, softmaxRemoved: softmax };
  } finally {
    baseline.dispose();
  }
}

async function prune(model: tf.LayersModel, o: CompareOptions, identity: Record<string, unknown>, out: string):
  Promise<PruneRecord> {
  const groups = traceModel(model, { barriers: o.barriers });
  const chosen = o.flopsTarget !== undefined
    ? await keepSetsForFlops(model, groups, { criterion: o.criterion, reduction: o.flopsTarget, seed: o.seed, flops: layerFlops })
      .catch((e: Error) => { throw new CompareInputError(`--flops-target ${o.flopsTarget}: ${e.message}`); })
    : { keep: tracedKeepSets(model, groups, { criterion: o.criterion, ratio: o.ratio!, seed: o.seed }), ratio: o.ratio! };
  const pruned = await pruneTracedModel(model, groups, chosen.keep);
  try {
    await saveModelDir(out, pruned, layersSpec(pruned, o.dataset));
    const record = { identity, ratio: chosen.ratio, params: paramCount(pruned), flops: layerFlops(pruned),
      accuracyBeforeFineTune: top1Of(pruned, o) };
    writeJson(path.join(out, 'prune.json'), record);
    return record;
  } finally {
    pruned.dispose();
  }
}

const r2 = (x: number) => Math.round(x * 100) / 100;

function comparisonRow(o: CompareOptions, r: { baselineTop1: number; pruned: PruneRecord; accuracy: Record<string, number>;
  recipes: Record<string, Recipe>; full: { params: number; flops: number } }): ResultRow {
  const row = Object.fromEntries(RESULT_COLUMNS.map((c) => [c, null])) as ResultRow;
  return Object.assign(row, {
    row_kind: 'run', method: `traced-${o.criterion}`, model: o.name, dataset: o.dataName,
    variant: o.flopsTarget !== undefined ? `flops-${o.flopsTarget}` : `ratio-${o.ratio}`, profile: 'custom', lr: o.lr,
    backend: tf.getBackend(), seed: o.seed, params: r.full.params, flops: r.full.flops, pruned_params: r.pruned.params,
    pruned_flops: r.pruned.flops, params_reduction_pct: reductionPct(r.pruned.params, r.full.params),
    flops_reduction_pct: reductionPct(r.pruned.flops, r.full.flops), acc_before_finetune: r2(r.pruned.accuracyBeforeFineTune),
    acc_baseline: r2(r.baselineTop1), acc_finetuned: r2(r.accuracy.finetune), acc_scratch_e: r2(r.accuracy['scratch-e']),
    acc_scratch_b: r2(r.accuracy['scratch-b']), epochs_finetune: r.recipes.finetune.epochs,
    epochs_scratch_e: r.recipes['scratch-e'].epochs, epochs_scratch_b: r.recipes['scratch-b'].epochs,
  });
}

/** results.csv, results.md and chart.svg (the accuracies side by side) in the run directory. */
async function writeReport(o: CompareOptions, row: ResultRow): Promise<void> {
  writeFileAtomic(path.join(o.runDir, 'results.csv'), resultsCsv([row]));
  writeFileAtomic(path.join(o.runDir, 'results.md'), resultsMarkdown([row]));
  const bars = [['baseline (given)', row.acc_baseline], ['pruned', row.acc_before_finetune], ['fine-tuned', row.acc_finetuned],
    ['Scratch-E', row.acc_scratch_e], ['Scratch-B', row.acc_scratch_b]].map(([stage, top1]) => ({ stage, top1 }));
  const svg = await vegaLiteSvg({
    $schema: 'https://vega.github.io/schema/vega-lite/v5.json', data: { values: bars },
    title: `${o.name}: ${row.variant} by ${o.criterion} (${row.flops_reduction_pct}% fewer multiply-adds)`,
    mark: 'bar', encoding: { x: { field: 'stage', type: 'nominal', sort: null, title: null },
      y: { field: 'top1', type: 'quantitative', title: 'test top-1 (%)' } },
    config: { font: CHART_FONT },
  }).catch((e: Error) => { process.stderr.write(`compare: no chart.svg (${e.message})\n`); return undefined; });
  if (svg) writeFileAtomic(path.join(o.runDir, 'chart.svg'), svg);
}

/** A finished stage's record (its JSON file with the identity that made it), as cachedStage takes it. */
function readJson<T extends { identity: unknown }>(file: string): { identity: unknown; reuse: () => T } | undefined {
  if (!fs.existsSync(file)) return undefined;
  const record = JSON.parse(fs.readFileSync(file, 'utf8')) as T;
  return { identity: record.identity, reuse: () => record };
}

function writeJson(file: string, value: unknown): void {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  writeFileAtomic(file, JSON.stringify(value, null, 2));
}
