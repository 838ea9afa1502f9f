import * as path from 'path';
import type { DatasetName } from '@rethink-prune/datasets';
import { loadTrainingData } from '../data/source';
import { writeFileAtomic } from '../fs-atomic';
import type { Profile } from '../profiles';
import { resultsCsv, resultsMarkdown, type ResultRow } from '../results';
import { methodVariant, variantPruner, type MethodDefinition, type MethodVariant } from './method';
import { relativeMarkdown } from './relative-report';
import { experimentSpecs, runExperiment } from './run';
import type { StageName } from './stage-graph';
import { paperWidths } from './reference';
import { widthsMarkdown, type LayerWidth } from './widths-report';

export interface GridOptions {
  profile: Profile;
  dataset: DatasetName;
  dataDir: string;
  variants: string[];
  /** Seeds 0 .. seeds−1. */
  seeds: number;
  /** Run this one seed alone (several processes or machines can share a grid's seeds and run directory). */
  onlySeed?: number;
  /** Results go to `<runDir>/<profile>/results-<dataset>.csv` and `.md`. */
  runDir: string;
  /** Run one stage (and what it needs) of every experiment; `report` or undefined runs all and writes the table. */
  stage?: StageName | 'report';
  fresh?: boolean;
  /** The initial LRs compared (an LR axis: runs under `lr<lr>/`); default the method's `learningRates`, else none. */
  lrs?: number[];
  /** Prune rounds of a method with rounds (default: the method's). */
  rounds?: number;
  /** Run directories whose finished stages of the same training are copied, not trained (ExperimentOptions). */
  reuseFrom?: string[];
  /** A shared stage another process is training now: wait for it (default) or stop (ExperimentOptions). */
  ifTrainingElsewhere?: 'wait' | 'exit';
}

/** Where a grid writes its tables (without extension). */
export const resultsBase = (o: Pick<GridOptions, 'runDir' | 'profile' | 'dataset'>) =>
  path.join(o.runDir, o.profile.name, `results-${o.dataset}`);

/** Checks every variant name and its pairing with the dataset, before any data is read or any work starts. */
export function checkGrid<V extends MethodVariant>(
  method: MethodDefinition<V>,
  o: Pick<GridOptions, 'variants' | 'dataset' | 'profile'>,
): void {
  for (const name of o.variants) experimentSpecs(methodVariant(method, name), name, o.dataset, o.profile);
}

/**
 * The method's grid: every variant for every seed; returns the rows (none when one stage was asked for). The data
 * is read from `dataDir` unless given.
 */
export async function runGrid<V extends MethodVariant>(
  method: MethodDefinition<V>,
  o: GridOptions,
  data = loadTrainingData(o.dataset, o.dataDir),
): Promise<ResultRow[]> {
  checkGrid(method, o);
  const only = o.stage === 'report' ? undefined : o.stage;
  const rows: ResultRow[] = [];
  // Per variant, LR and round: the seeds of one prune, which the report averages.
  const widths = new Map<string, { structured: boolean; variant: string; seeds: LayerWidth[][] }>();
  const seeds = o.onlySeed !== undefined ? [o.onlySeed] : Array.from({ length: o.seeds }, (_, k) => k);
  const lrs = gridLearningRates(method, o);
  for (const seed of seeds) {
    for (const variant of o.variants) {
      for (const lr of lrs) {
        rows.push(...await runExperiment(method, variant, {
          profile: o.profile,
          seed,
          data,
          runRoot: path.join(o.runDir, o.profile.name),
          only,
          fresh: o.fresh,
          onPruned: (w, where) => {
            const key = [variant, ...(where.lr === undefined ? [] : [`lr ${where.lr}`]),
              ...(method.rounds ? [`round ${where.round}`] : [])].join(' ');
            const structured = variantPruner(method, methodVariant(method, variant)).kind === 'structured';
            const entry = widths.get(key) ?? { structured, variant, seeds: [] };
            entry.seeds.push(w);
            widths.set(key, entry);
          },
          ...(lr === undefined ? {} : { lr }),
          ...(o.rounds === undefined ? {} : { rounds: o.rounds }),
          ...(o.reuseFrom ? { reuseFrom: o.reuseFrom } : {}),
          ...(o.ifTrainingElsewhere ? { ifTrainingElsewhere: o.ifTrainingElsewhere } : {}),
        }));
      }
    }
  }
  // The pruned widths as soon as the prunes are done (`--stage prune` is all Table 8 needs).
  const tables = [...widths].map(([key, { structured, variant, seeds }]) => {
    const paper = paperWidths(method.reference, variant, o.dataset);
    return widthsMarkdown(`${method.name} ${key} on ${o.dataset}`, seeds,
      structured ? ['width', 'width*'] : ['weights', 'non-zero'],
      paper?.widths ? { source: `${paper.table}: ${paper.row}`, widths: paper.widths } : undefined);
  });
  if (tables.length > 0) writeFileAtomic(widthsPath(o, method), `${tables.join('\n\n')}\n`);
  if (rows.length > 0) {
    writeFileAtomic(`${resultsBase(o)}.csv`, resultsCsv(rows));
    writeFileAtomic(`${resultsBase(o)}.md`, `${resultsMarkdown(rows)}\n`);
    const relative = relativeMarkdown(rows, method.reference);
    if (relative) writeFileAtomic(`${resultsBase(o)}-relative.md`, `${relative}\n`);
    await writeMethodReport(method, rows, o);
  }
  return rows;
}

/** The LRs of a grid: given, or the method's, or one run at the profile's (undefined: no LR axis). */
export function gridLearningRates(method: MethodDefinition<any>, o: Pick<GridOptions, 'lrs' | 'profile'>): Array<number | undefined> {
  return o.lrs ?? method.learningRates?.(o.profile) ?? [undefined];
}

/** Where a method's own report goes (`results-<dataset>-<name>.md`, `.svg`). */
export const methodReportBase = (o: Pick<GridOptions, 'runDir' | 'profile' | 'dataset'>, method: MethodDefinition<any>) =>
  method.report ? `${resultsBase(o)}-${method.report.name}` : undefined;

async function writeMethodReport(method: MethodDefinition<any>, rows: ResultRow[], o: GridOptions): Promise<void> {
  const base = methodReportBase(o, method);
  if (!method.report || !base) return;
  writeFileAtomic(`${base}.md`, `${method.report.markdown(rows)}\n`);
  const title = `${method.title}, ${o.dataset} (${o.profile.name} profile)`;
  if (method.report.chart) writeFileAtomic(`${base}.svg`, await method.report.chart(rows, title));
}

/**
 * Where a grid writes what its prune kept per layer, mean ± std over seeds: `widths-<dataset>.md` (a structured
 * method's channels) or `sparsity-<dataset>.md` (an unstructured one's non-zero weights).
 */
export const widthsPath = (o: Pick<GridOptions, 'runDir' | 'profile' | 'dataset'>, method: MethodDefinition<any>) =>
  path.join(o.runDir, o.profile.name, `${method.pruner.kind === 'structured' ? 'widths' : 'sparsity'}-${o.dataset}.md`);
