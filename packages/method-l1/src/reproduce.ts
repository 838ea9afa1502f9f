import * as fs from 'fs';
import * as path from 'path';
import {
  loadTrainingData, namedSpec, narrowSpec, resultsCsv, resultsMarkdown, runExperiment, writeFileAtomic,
  type Experiment, type PaperNumbers, type Profile, type ResultRow, type StageName,
} from '@rethink-prune/core';
import type { DatasetName } from '@rethink-prune/datasets';
import { pruneByL1Norm } from './prune';
import { l1Variant, targetWidths } from './variants';

/** The paper's L1 grid (Table 1): CIFAR rows, ImageNet rows, and the default subset of each profile. */
export const ALL_MODELS = ['vgg16-A', 'resnet56-A', 'resnet56-B', 'resnet110-A', 'resnet110-B'];
export const IMAGENET_MODELS = ['resnet34-A', 'resnet34-B'];
export const DEFAULT_MODELS: Record<Profile['name'], string[]> = {
  paper: ALL_MODELS,
  quick: ['vgg16-A', 'resnet56-B'],
  smoke: ['vgg16-A', 'resnet56-B'],
};

/** The variants a run uses when `--models` is not given. */
export function defaultModels(profile: Profile, dataset: DatasetName): string[] {
  return dataset === 'imagenet' ? IMAGENET_MODELS : DEFAULT_MODELS[profile.name];
}


interface ReferenceRow { table: string; row: string; dataset: string; variant: string; baseline: number; finetuned: number; scratchE: number; scratchB: number }
const REFERENCE: { rows: ReferenceRow[] } = JSON.parse(fs.readFileSync(path.join(__dirname, '..', 'reference.json'), 'utf8'));

/** The paper's row for a variant (CIFAR-10 rows also stand beside runs on other data, labelled as such). */
export function paperNumbers(variant: string): PaperNumbers | undefined {
  const r = REFERENCE.rows.find((row) => row.variant === variant);
  return r && { baseline: r.baseline, finetuned: r.finetuned, scratchE: r.scratchE, scratchB: r.scratchB, source: `${r.table}: ${r.row}` };
}

export interface ReproduceOptions {
  profile: Profile;
  dataset: DatasetName;
  dataDir: string;
  models: string[];
  seeds: number;
  runDir: string;
  /** Run one stage (and what it needs) of every experiment; `report` or undefined runs all and writes the table. */
  stage?: StageName | 'report';
}

export function l1Experiment(variantName: string, dataset: DatasetName, profile: Profile, seed: number): Experiment {
  const variant = l1Variant(variantName);
  const imagenetVariant = variant.base === 'resnet34-imagenet';
  if (imagenetVariant !== (dataset === 'imagenet')) {
    throw new Error(imagenetVariant
      ? `${variantName} is an ImageNet experiment; run it with --dataset imagenet`
      : `${variantName} is a CIFAR-size experiment; on ImageNet the L1 variants are ${IMAGENET_MODELS.join(', ')}`);
  }
  const spec = narrowSpec(namedSpec(variant.base, dataset), profile.widthDivisor);
  const widths = targetWidths(spec, variant, profile.widthDivisor);
  return {
    method: 'l1-norm', model: variant.base, variant: variantName, spec, profile, seed, paper: paperNumbers(variantName),
    pruner: { prune: (model, s) => pruneByL1Norm(model, s, widths) },
  };
}

/** Runs the grid; returns the rows (empty when only a stage was asked for) and writes CSV + Markdown. */
export async function reproduce(o: ReproduceOptions): Promise<ResultRow[]> {
  for (const m of o.models) l1Experiment(m, o.dataset, o.profile, 0); // every name and dataset pairing checked before any work
  const data = loadTrainingData(o.dataset, o.dataDir);
  const root = path.join(o.runDir, o.profile.name);
  const rows: ResultRow[] = [];
  for (let seed = 0; seed < o.seeds; seed++) {
    for (const m of o.models) {
      const row = await runExperiment(l1Experiment(m, o.dataset, o.profile, seed), data, root, o.stage === 'report' ? undefined : o.stage);
      if (row) rows.push(row);
    }
  }
  if (rows.length > 0) {
    const base = path.join(root, `results-${o.dataset}`);
    writeFileAtomic(`${base}.csv`, resultsCsv(rows));
    writeFileAtomic(`${base}.md`, `${resultsMarkdown(rows)}\n`);
  }
  return rows;
}
