import { createHash } from 'crypto';
import {
  experimentRecipes, gridLearningRates, methodVariant, variantPruner, resultsBase, STAGE_GRAPH, stageNeeds, type GraphStage, type MethodDefinition,
  type MethodVariant, type Profile, type StageName, type TrainedStage,
} from '@rethink-prune/core';
import type { DatasetName } from '@rethink-prune/datasets';
import type { FlowJob } from 'bullmq';

/** The one queue every grid shares. */
export const QUEUE_NAME = 'rethink-prune';

export type QueueStage = GraphStage;

/** The grid a job belongs to: what `runGrid` needs but the data directory, which is each worker's own. */
export interface JobGrid {
  profile: Profile;
  dataset: DatasetName;
  variants: string[];
  seeds: number;
  /** Relative to the worker's `--run-dir` unless absolute. */
  runDir: string;
  fresh: boolean;
  /** The LR axis and prune rounds, where the grid names them (GridOptions). */
  lrs?: number[];
  rounds?: number;
}

/** What a worker needs to run one stage; jobs with these ids must be completed first. */
export interface StageJobData {
  /** The npm package that exports the method, and the method's command, which picks it among the exports. */
  methodPackage: string;
  command: string;
  stage: QueueStage;
  /** The experiment that runs the stage (a shared baseline: the first variant trained on it). */
  variant?: string;
  seed?: number;
  /** The experiment's initial LR, on a grid with an LR axis. */
  lr?: number;
  grid: JobGrid;
  needs: string[];
  /** `l1-norm resnet56-A seed0 finetune`. */
  label: string;
}

export interface GridJob {
  id: string;
  data: StageJobData;
}

const hash = (value: unknown) => createHash('sha256').update(JSON.stringify(value)).digest('hex').slice(0, 12);
/** BullMQ ids must not contain ':'; ours stay readable in `redis-cli` and status. */
const slug = (s: string) => s.replace(/[^A-Za-z0-9._-]+/g, '_');

/**
 * The grid's stages as jobs: per seed, a baseline per model (shared by every variant that trains the same baseline),
 * then per variant prune → fine-tune, Scratch-E and Scratch-B (a published architecture: Scratch-E and B only),
 * then one report. A job's id is a hash of what decides its result (method, pruner version, profile, dataset, seed,
 * variant, recipes, run directory), so the same grid enqueued again names the same jobs; the report is last.
 */
export function gridJobs(method: MethodDefinition<any>, methodPackage: string, grid: JobGrid): GridJob[] {
  const jobs = new Map<string, GridJob>();
  const common = { methodPackage, command: method.command, method: method.name, pruner: method.pruner.version,
    profile: grid.profile, dataset: grid.dataset, runDir: grid.runDir, fresh: grid.fresh };
  /** A job for `stage` of `subject` (a model, a variant, the grid): its label and id say both. */
  const add = (stage: QueueStage, subject: string, key: unknown,
    data: Pick<StageJobData, 'variant' | 'seed' | 'needs' | 'lr'>) => {
    const at = `${data.seed === undefined ? '' : ` seed${data.seed}`}${data.lr === undefined ? '' : ` lr${data.lr}`}`;
    const label = `${method.name} ${subject}${at} ${stage}`;
    const id = [method.name, grid.profile.name, grid.dataset, subject, `${at.trim()}`, stage, hash({ common, stage, key })]
      .filter(Boolean).map(slug).join('.');
    if (!jobs.has(id)) jobs.set(id, { id, data: { methodPackage, command: method.command, stage, grid, label, ...data } });
    return id;
  };
  const trained: string[] = [];
  const firstBaseline = new Map<string, string>();
  for (let seed = 0; seed < grid.seeds; seed++) {
    for (const [name, lr] of grid.variants.flatMap((v) => gridLearningRates(method, grid).map((x) => [v, x] as const))) {
      const variant: MethodVariant = methodVariant(method, name);
      const axis = lr === undefined ? {} : { lr };
      const defaults = experimentRecipes(grid.profile, grid.dataset);
      const recipes = method.recipes?.(defaults, grid.profile, grid.dataset, variant) ?? defaults;
      const training = (stage: TrainedStage) => method.training?.(stage, variant) ?? null;
      const baselineKey = { base: variant.base, seed, training: training('baseline'), recipe: recipes.baseline,
        plain: method.plainBaseline ?? false, ...axis };
      // Baselines of one model and seed with other hooks (SFP from scratch and from a trained model) share its plain
      // baseline's folder: a later one waits for the first, which trains that plain baseline.
      const first = firstBaseline.get(`${variant.base}/${seed}/${lr}`);
      const baseline = add('baseline', variant.base, baselineKey, { variant: name, seed, needs: first ? [first] : [], ...axis });
      if (!first) firstBaseline.set(`${variant.base}/${seed}/${lr}`, baseline);
      const variantKey = { name, variant, baselineKey, recipes, rounds: grid.rounds ?? null,
        pruner: variantPruner(method, variant).version };
      const stage = (s: StageName, needs: string[]) =>
        add(s, name, { variantKey, training: s === 'prune' ? null : training(s) },
          { variant: name, seed, needs, ...axis });
      // The variant's stages as core's graph orders them, each waiting for the jobs of what it needs. A published
      // architecture is trained from scratch only: it has no prune (what needs it waits for the baseline) or fine-tune;
      // a method's skipped stages are absent the same way.
      const absent: StageName[] = [...(variant.architecture ? ['prune', 'finetune'] as const : []), ...(method.skips ?? [])];
      const ids = new Map<GraphStage, string[]>([['baseline', [baseline]]]);
      for (const { name: s, needs } of STAGE_GRAPH.filter((x) => x.per === 'variant')) {
        const needed = needs.flatMap((n) => ids.get(n) ?? []);
        if (absent.includes(s as StageName)) {
          ids.set(s, needed);
          continue;
        }
        const id = stage(s as StageName, needed);
        ids.set(s, [id]);
        if (stageNeeds('report').includes(s)) trained.push(id);
      }
    }
  }
  const report = { grid: { variants: grid.variants, seeds: grid.seeds, lrs: grid.lrs ?? null, rounds: grid.rounds ?? null },
    needs: trained };
  add('report', grid.variants.join(','), report, { needs: trained });
  return [...jobs.values()];
}

/** Where the report job writes the results, relative to the workers' run directory. */
export const gridResults = (grid: JobGrid) => `${resultsBase(grid)}.csv`;

export interface JobOptions {
  attempts: number;
  backoffMs: number;
}

/**
 * The jobs not yet on the queue as one BullMQ flow, rooted at the report: each job hangs under the first job that
 * needs it, so BullMQ starts a parent only after its children. A job needed by several (a shared baseline, the prune
 * before Scratch-E and B) or already queued has one place at most; workers wait for the rest (`needs`).
 * Undefined when the report is on the queue already.
 */
export function gridFlow(jobs: GridJob[], queued: ReadonlySet<string>, options: JobOptions): FlowJob | undefined {
  const byId = new Map(jobs.map((j) => [j.id, j]));
  const report = jobs[jobs.length - 1];
  if (queued.has(report.id)) return undefined;
  const placed = new Set<string>();
  const node = (id: string): FlowJob => {
    placed.add(id);
    const { data } = byId.get(id)!;
    const children = data.needs.filter((n) => !queued.has(n) && !placed.has(n)).map(node);
    return {
      name: data.stage,
      queueName: QUEUE_NAME,
      data,
      opts: { jobId: id, attempts: options.attempts, backoff: { type: 'fixed', delay: options.backoffMs } },
      ...(children.length > 0 ? { children } : {}),
    };
  };
  const root = node(report.id);
  // A job that only queued jobs need (one removed from the queue by hand) waits under the report.
  const rest = jobs.filter((j) => !queued.has(j.id) && !placed.has(j.id)).map((j) => node(j.id));
  return rest.length > 0 ? { ...root, children: [...(root.children ?? []), ...rest] } : root;
}
