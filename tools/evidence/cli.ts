import { execFileSync, spawn, spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { parseArgs } from 'util';
import { markdownTable } from '../../packages/core/src/results';
import { medianEpochSeconds, metricsFile, readEpochMetrics } from '../../packages/core/src/train/metrics-file';
import { readRows, type Row } from '../report/report';
import { accuracyPoints, differenceChart, differencePoints } from './chart';
import { groupCountdown, laneJobs, laneThreads, runLanes, spawnJob, type LaneJob } from './lanes';
import {
  bySeedKey, evidenceCsv, evidenceMarkdown, evidenceRows, intervalText, localSeedRecords, mergeSeedRecords,
  rowLabel, seedDir, seedKey, seedRecordsCsv, seedsMarkdown, signed, studyResultsCsv, type EvidenceRow,
  type ReferenceRow,
} from './evidence';
import { stageStatuses, statusLines } from './status';
import { STUDIES, studyById, studyRunArgs, SUBSET_DATA_DIR, type Study } from './studies';

const USAGE = `npm run evidence -- <command> [options]

  run <study>      train the study from whatever its run directory lacks (every stage resumes; a stage another
                   study beside it trained the same way is copied: --reuse-from), then write its table;
                   several studies (run weight-level,slimming) train one after another, or with --lanes in one
                   stage graph, a stage of one beside another's; a stage two of them train the same way (a
                   plain baseline, a scratch run of the same architecture) is trained once: the process that
                   asks for it second stops, its lane trains another stage meanwhile, and it runs again (and
                   copies it) once the first has finished; 'all': every study, in the order list gives
  table <study>    write results/<study>/ (table.md, table.csv, chart.svg, manifest.json, seeds.csv) from the
                   seeds committed there and the study's runs here (a seed run here replaces its committed
                   record), and the summary results/summary.md + summary.svg over every study in results/;
                   several (a,b), or all (those with a seed)
  status <study>   where its runs stand: every training stage begun in its run directory (not the prunes),
                   done, training now (the pid whose claim holds it) or stopped, with its epochs, best top-1
                   and, for one not done, the time its remaining epochs take at its median epoch so far; 'all',
                   or several (a,b)
  list             the studies (${STUDIES.map((s) => s.id).join(', ')}), each row with the seeds committed in
                   results/<study>/seeds.csv

options:
  --run-dir <dir>    where the study's runs live (default runs/study/<study>)
  --data-dir <dir>   the CIFAR-10 .bin files (default ../shared/datasets/cifar10-subset)
  --results <dir>    default results/
  --variants a,b     with run: train only these of the study's variants now (the table then holds them alone;
                     a later run of all reuses their finished stages); with several studies, each trains the
                     ones that are its own, and each must have one
  --seed K           with run: train seed K alone, then add it to the table (processes and machines can split
                     the seeds: each one's table merges the seeds committed in results/<study>/seeds.csv)
  --seeds N          with run: seeds 0..N-1 instead of the study's 3 (a table of the seeds finished so far: a
                     run over them trains nothing; the table says how many of the study's seeds it holds)
  --lanes N          with run: train in N processes side by side (the cores shared out among them), each stage
                     as soon as the stages it needs have finished: one seed's baseline, then its variants' prunes,
                     fine-tunes and scratch runs at once: the earliest seed's first (a lane it leaves free trains
                     the next seed's), and of one seed's the longest chain of training (Scratch-B); each seed's
                     results and table are written as soon as its last stage ends; a stage
                     that runs alone (nothing beside it or able to start before it ends: a seed's baseline) gets
                     every core (unless RETHINK_PRUNE_THREADS is set); a failed stage stops new ones, the finished
                     are kept
`;

/** Every invocation of `run` on a study's run directory, one JSON line each: which commit trained which seeds. */
const RUN_LOG = 'study-runs.jsonl';

interface RunInfo {
  commit: string; command: string; cpu: string; cores: number; started: string; seed?: number;
  /**
   * `--lanes`: its stages ran in this many processes side by side, each on `threads` threads, a stage that ran alone on
   * `aloneThreads` (what each stage trained on is the manifest's stageThreads).
   */
  lanes?: { processes: number; threads: number; aloneThreads?: number };
}

function gitCommit(): string {
  try {
    const head = execFileSync('git', ['rev-parse', 'HEAD'], { encoding: 'utf8' }).trim();
    // results/ is this tool's own output (a table written between runs leaves it changed): not a change to the code
    const dirty = execFileSync('git', ['status', '--porcelain', '--untracked-files=no', '--', ':(top)',
      ':(top,exclude)results'], { encoding: 'utf8' }).trim();
    return dirty ? `${head} (with uncommitted changes)` : head;
  } catch {
    return 'unknown (not a git checkout)';
  }
}

/** One study of a `run`: what it trains now (its variants, its seeds), where, and the command that trains it. */
interface StudyRun { study: Study; runDir: string; args: string[]; info: RunInfo }

/** Checks a study's part of a `run` (the variants it trains now, `only`, are its own) and writes down how it ran. */
function planRun(s: Study, runDir: string, dataDir: string, only?: string[], seed?: string, seeds?: string,
  lanes?: string): StudyRun {
  if (seeds !== undefined && !(/^\d+$/.test(seeds) && Number(seeds) >= 1 && Number(seeds) <= s.seeds)) {
    throw new Error(`--seeds ${seeds}: give a whole number from 1 to the study's ${s.seeds}`);
  }
  const study = { ...s, ...(only ? { variants: only } : {}), ...(seeds ? { seeds: Number(seeds) } : {}) };
  if (seed !== undefined && !(/^\d+$/.test(seed) && Number(seed) < study.seeds)) {
    throw new Error(`--seed ${seed}: give one of the study's seeds, 0 to ${study.seeds - 1}`);
  }
  const args = studyRunArgs(study, dataDir, runDir, seed);
  const info: RunInfo = { commit: gitCommit(), command: `node ${args.join(' ')}`, cpu: os.cpus()[0]?.model ?? 'unknown',
    cores: os.cpus().length, started: new Date().toISOString(), ...(seed ? { seed: Number(seed) } : {}),
    ...(lanes ? { lanes: { processes: Number(lanes), threads: Number(laneThreads(Number(lanes))),
      aloneThreads: Number(laneThreads(1)) } } : {}) };
  return { study, runDir, args, info };
}

/**
 * Which of the variants named with --variants each study trains (undefined: all of its own); every name must belong
 * to one of the studies, and every study must get one.
 */
function variantsPerStudy(studies: Study[], only?: string[]): Array<string[] | undefined> {
  if (!only) return studies.map(() => undefined);
  const unknown = only.filter((v) => !studies.some((s) => s.variants.includes(v)));
  if (unknown.length > 0) {
    throw new Error(`--variants: ${unknown.join(', ')} not in ${studies.map((s) => `study ${s.id} (${s.variants.join(', ')})`).join(' or ')}`);
  }
  return studies.map((s) => {
    const mine = only.filter((v) => s.variants.includes(v));
    if (mine.length === 0) throw new Error(`--variants ${only.join(',')}: none of study ${s.id}'s (${s.variants.join(', ')})`);
    return mine;
  });
}

/**
 * A seed whose stages have all finished while the lanes train other seeds, written now rather than at the run's end:
 * its study's command for that seed (trains nothing, writes its results row), then the study's table and the summary.
 * So a session that stops the run leaves its finished seeds in `results`.
 */
async function recordSeed(r: StudyRun, seed: number, dataDir: string, results: string): Promise<void> {
  const args = studyRunArgs(r.study, dataDir, r.runDir, seed);
  const code = await new Promise<number>((resolve) => {
    spawn('node', args, { stdio: ['ignore', 'ignore', 'inherit'] }).on('close', (c) => resolve(c ?? 1)).on('error', () => resolve(1));
  });
  try {
    if (code !== 0) throw new Error(`node ${args.join(' ')} exited with ${code}`);
    await writeTable(studyById(r.study.id), r.runDir, results);
    await writeSummary(results);
    process.stderr.write(`evidence: ${r.study.id} seed ${seed}: every stage done; ${path.join(results, r.study.id)}/ written\n`);
  } catch (e) {
    process.stderr.write(`evidence: ${r.study.id} seed ${seed}: its results were not written now (${(e as Error).message}); ` +
      'the run writes them when every stage is done\n');
  }
}

/**
 * Trains the studies' stages: with `lanes`, all of them in one stage graph (a stage of one study beside another's),
 * each seed's results written as soon as its stages are done (where the run has several); then each study's own
 * command, which trains what is left (nothing, after the lanes) and writes its results CSV.
 */
async function runStudies(runs: StudyRun[], dataDir: string, results: string, seed?: string, lanes?: string): Promise<number> {
  if (!fs.existsSync(path.join(dataDir, 'data_batch_1.bin'))) {
    throw new Error(`--data-dir ${dataDir}: no data_batch_1.bin (give the CIFAR-10 subset's folder)`);
  }
  if (lanes !== undefined && !(/^\d+$/.test(lanes) && Number(lanes) >= 1)) {
    throw new Error(`--lanes ${lanes}: give a whole number of processes, 1 or more`);
  }
  for (const { study, runDir, info } of runs) {
    fs.mkdirSync(runDir, { recursive: true });
    fs.appendFileSync(path.join(runDir, RUN_LOG), `${JSON.stringify(info)}\n`);
    process.stderr.write(`evidence: building ${study.packageDir}, then ${info.command}\n`);
    const build = spawnSync('npx', ['nx', 'run', `${study.packageDir}:build`, '--outputStyle=static'], { stdio: 'inherit' });
    if (build.status !== 0) return build.status ?? 1;
  }
  if (lanes !== undefined) {
    const n = Number(lanes);
    const runOf = new Map<LaneJob, StudyRun>();
    const jobs = runs.flatMap((r) => laneJobs(r.study, dataDir, r.runDir, seed === undefined ? undefined : Number(seed))
      .map((j) => { runOf.set(j, r); return j; }));
    const lastOfSeed = groupCountdown(jobs, (j) => `${runOf.get(j)!.study.id} ${j.seed}`);
    process.stderr.write(`evidence: ${jobs.length} stages in ${n} processes of ${laneThreads(n)} thread(s) each (a stage ` +
      `that runs alone, such as a seed's baseline that every other stage waits on, on ${laneThreads(1)} thread(s))\n`);
    try {
      let finished = 0;
      await runLanes(jobs, n, async (job, lane, alone, mayDefer) => {
        const started = Date.now();
        const code = await spawnJob(job, lane, laneThreads(alone ? 1 : n), mayDefer);
        if (code === 0) {
          process.stderr.write(`[lane ${lane}] ${job.label} done in ${((Date.now() - started) / 60_000).toFixed(1)} min; ` +
            `${++finished} of ${jobs.length} stages done\n`);
          if (seed === undefined && lastOfSeed(job)) await recordSeed(runOf.get(job)!, job.seed, dataDir, results);
        }
        return code;
      });
    } catch (e) {
      process.stderr.write(`evidence: ${(e as Error).message}\n`);
      return 1;
    }
    process.stderr.write('evidence: every stage done; the runs below train nothing and write the results\n');
  }
  for (const { args } of runs) {
    const status = spawnSync('node', args, { stdio: 'inherit' }).status ?? 1;
    if (status !== 0) return status;
  }
  return 0;
}

const readJson = <T>(file: string, none: T): T => (fs.existsSync(file) ? JSON.parse(fs.readFileSync(file, 'utf8')) as T : none);

/** Seconds per stage, by stage name (a baseline's folder name, finetune, scratch-e, …); null where it has none. */
type StageSeconds = Record<string, number | null>;

/** The distinct thread counts a stage's epochs ran on ('2+1': resumed on another count), where any is recorded. */
function onThreads(counts: Array<number | undefined>): { threads?: string } {
  const known = [...new Set(counts.filter((t) => t !== undefined))];
  return known.length > 0 ? { threads: known.join('+') } : {};
}

/**
 * Per stage of one seed's experiment: the seconds it trained (its result.json: wall time,
 * so a process stopped or paused mid-stage counts its pause), its epochs × its median epoch's seconds
 * (metrics.jsonl), the training time without the pauses, and the threads it trained on (its sums depend on them).
 */
function stageFacts(seed: string, dir: string): { wall: StageSeconds; busy: StageSeconds; copied: Record<string, string>;
  threads: Record<string, string> } {
  // One stage's figures, from its result.json and metrics.jsonl (nulls while it has no result), and where it was
  // copied from if another study trained it (`--reuse-from`: its seconds are that run's).
  const factsOf = (d: string): { wall: number | null; busy: number | null; from?: string; threads?: string } => {
    const metrics = metricsFile(d);
    const r = readJson<{ trainSeconds: number; epochs: number; threads?: number;
      reusedFrom?: { dir: string; method: string }; sharedStart?: { epochs: number; trainSeconds: number } } | null>(
      path.join(d, 'result.json'), null);
    if (!r) return { wall: null, busy: null };
    const from = r.reusedFrom ? { from: `${r.reusedFrom.method}: ${r.reusedFrom.dir}` } : {};
    // A Scratch-B that started from Scratch-E's state counts only the epochs after it (Scratch-E's seconds count there).
    const shared = r.sharedStart ?? { epochs: 0, trainSeconds: 0 };
    const wall = Math.round(r.trainSeconds - shared.trainSeconds);
    if (!fs.existsSync(metrics)) return { wall, busy: null, ...from, ...onThreads([r.threads]) };
    // Its weights depend on every epoch's threads, the shared ones too (absent in metrics from before they were recorded).
    const epochs = readEpochMetrics(metrics);
    const perEpoch = epochs.map((e) => e.threads);
    const median = medianEpochSeconds(epochs, shared.epochs);
    return { wall, busy: median === null ? null : Math.round(median * (r.epochs - shared.epochs)), ...from,
      ...onThreads(perEpoch.some((t) => t !== undefined) ? perEpoch : [r.threads]) };
  };
  // The plain baseline, and one trained with the method's hooks (baseline-<id>/) where there is one.
  const baselines = fs.readdirSync(seed).filter((d) => /^baseline(-.+)?$/.test(d)).map((b) => [b, path.join(seed, b)]);
  // A lottery ticket's variant also has the winning ticket's run (scratch-e-saved-init/).
  const stages = ['finetune', 'scratch-e', 'scratch-b', 'scratch-e-saved-init']
    .filter((d) => d !== 'scratch-e-saved-init' || fs.existsSync(path.join(dir, d))).map((d) => [d, path.join(dir, d)]);
  // The prune records its wall seconds (its fine-tuning between steps has no metrics of its own) where it ran since
  // prune.json had them.
  const pruneSeconds = readJson<{ seconds?: number }>(path.join(dir, 'pruned', 'prune.json'), {}).seconds ?? null;
  const all = [...baselines.map(([name, d]) => [name, factsOf(d)] as const),
    ...(pruneSeconds === null ? [] : [['prune', { wall: pruneSeconds, busy: pruneSeconds }] as const]),
    ...stages.map(([name, d]) => [name, factsOf(d)] as const)];
  return { wall: Object.fromEntries(all.map(([name, s]) => [name, s.wall])),
    busy: Object.fromEntries(all.map(([name, s]) => [name, s.busy])),
    copied: Object.fromEntries(all.flatMap(([name, s]) => ('from' in s && s.from ? [[name, s.from]] : []))),
    threads: Object.fromEntries(all.flatMap(([name, s]) => ('threads' in s && s.threads ? [[name, s.threads]] : []))) };
}

/** A command as anyone can run it from the workspace: the CIFAR subset's folder as ../shared/datasets/… */
const portable = (command: string) => command.replace(/\S*\/shared\/datasets\//g, '../shared/datasets/');

/** The invocations recorded in a run directory (and the one-file records of earlier versions of this tool). */
function runLog(runDir: string): RunInfo[] {
  const log = path.join(runDir, RUN_LOG);
  const lines = fs.existsSync(log) ? fs.readFileSync(log, 'utf8').trim().split('\n').filter(Boolean) : [];
  const legacy = fs.existsSync(runDir) ? fs.readdirSync(runDir).filter((f) => /^study-run(-seed\d+)?\.json$/.test(f)) : [];
  const legacyInfo = legacy.map((f) => {
    const info = JSON.parse(fs.readFileSync(path.join(runDir, f), 'utf8')) as RunInfo;
    const seed = /seed(\d+)/.exec(f)?.[1];
    return seed === undefined ? info : { ...info, seed: Number(seed) };
  });
  return [...legacyInfo, ...lines.map((l) => JSON.parse(l) as RunInfo)].sort((a, b) => a.started.localeCompare(b.started));
}

/** When the newest stage record (result.json, prune.json) below `dirs` was written, in ms; undefined if there is none. */
function lastWritten(dirs: string[]): number | undefined {
  const times = dirs.filter((d) => fs.existsSync(d)).flatMap((d) =>
    (fs.readdirSync(d, { recursive: true }) as string[]).filter((f) => /(^|[\\/])(result|prune)\.json$/.test(f))
      .map((f) => fs.statSync(path.join(d, f)).mtimeMs));
  return times.length > 0 ? Math.max(...times) : undefined;
}

/**
 * A row per (variant, seed): every invocation that may have trained its stages (commit, command, CPU; a stage resumed
 * across invocations shows several), the backend and threads its stages ran on, and each stage's training seconds.
 * An invocation started after the seed's last stage was written trained none of them; one of other variants, none but
 * the baselines they share (so not if it started after those).
 */
function manifest(s: Study, runDir: string, seedRecords: Row[]): ManifestEntry[] {
  const runs = runLog(runDir);
  return seedRecords.map((r) => {
    const seed = seedDir(s, runDir, r.model, r.seed, r.lr);
    const variantDir = path.join(seed, r.variant, ...(r.round ? [`round${r.round}`] : []));
    const baselines = (fs.existsSync(seed) ? fs.readdirSync(seed).filter((d) => /^baseline/.test(d)) : [])
      .map((d) => path.join(seed, d));
    // A run of this variant may have trained any of its stages, a run of another one the baselines they share.
    const rowWritten = lastWritten([variantDir, ...baselines]) ?? Infinity;
    const baselinesWritten = lastWritten(baselines) ?? Infinity;
    const mine = runs.filter((run) => (run.seed === undefined || run.seed === Number(r.seed))
      && Date.parse(run.started) <= ((/ --models (\S+)/.exec(run.command)?.[1].split(',').includes(r.variant) ?? true)
        ? rowWritten : baselinesWritten))
      .map((run) => ({ ...run, command: portable(run.command) }));
    const last = mine[mine.length - 1];
    const rerun = (last?.command ?? 'node <cli> reproduce ...').replace(/ --seed \d+/, '').replace(/ --models \S+/, '')
      .replace(/ --backend \S+/, '').replace(/ --reuse-from \S+/, ''); // to train it again, not copy it back
    const facts = stageFacts(seed, variantDir);
    // A stage's sums depend on its threads: it is trained again on as many (a seed's baseline may have had every core;
    // a stage resumed on another count, '2+1', is not reproduced exactly by any).
    const threadCounts = [...new Set(Object.values(facts.threads))];
    const pinThreads = threadCounts.length === 0 ? ''
      : `RETHINK_PRUNE_THREADS=${threadCounts.length === 1 ? threadCounts[0] : '<its stageThreads>'} `;
    return {
      variant: r.variant, ...(r.lr ? { lr: Number(r.lr) } : {}), ...(r.round ? { round: Number(r.round) } : {}),
      seed: Number(r.seed), profile: r.profile, dataset: r.dataset,
      runs: mine.map(({ commit, command, cpu, cores, started, lanes }) =>
        ({ commit, command, cpu, cores, started, ...(lanes ? { lanes } : {}) })),
      backend: r.backend, threads: r.threads,
      ...(threadCounts.length > 0 ? { stageThreads: facts.threads } : {}),
      trainSeconds: facts.wall,
      busySeconds: facts.busy,
      // Stages another study trained the same way, copied here (their seconds are that study's, not spent again).
      ...(Object.keys(facts.copied).length > 0 ? { copiedStages: facts.copied } : {}),
      // A finished stage whose run key matches is reused: to train one again, move its directory away first.
      rerunOneStage: `mv ${variantDir}/<stage> <elsewhere> && ${pinThreads}${rerun} --models ${r.variant} --seed ${r.seed} ` +
        `--backend ${s.backend} --stage <stage>`,
    };
  });
}

type ManifestEntry = { variant: string; lr?: number; round?: number; seed: number } & Record<string, unknown>;
const manifestKey = (m: ManifestEntry) => seedKey({ variant: m.variant, lr: String(m.lr ?? ''), round: String(m.round ?? ''),
  seed: String(m.seed) });

const label = (r: EvidenceRow) => `${r.study} ${rowLabel(r)}`;

/**
 * Each row of a study with the seeds committed in `<results>/<study>/` (seeds.csv, or rows.json for a table written
 * before it), per LR where the study has an LR axis: `vgg16-A (seeds 0, 1, 2)`, `resnet56-A (no seed yet)`.
 */
function committedSeeds(s: Study, results: string): string[] {
  const file = path.join(results, s.id, 'seeds.csv');
  const records = fs.existsSync(file) ? readRows(file) : [];
  const tabled = readJson<EvidenceRow[]>(path.join(results, s.id, 'rows.json'), []);
  const seedsOf = (variant: string, lr?: number) => {
    const atLr = (r: { lr?: unknown }) => lr === undefined || Number(r.lr) === lr;
    const recorded = records.filter((r) => r.variant === variant && atLr(r)).map((r) => Number(r.seed));
    const seeds = recorded.length > 0 ? recorded : tabled.filter((r) => r.variant === variant && atLr(r)).flatMap((r) => r.seeds);
    return [...new Set(seeds)].sort((a, b) => a - b);
  };
  const described = (seeds: number[]) => (seeds.length > 0 ? `seeds ${seeds.join(', ')}` : 'no seed yet');
  return s.variants.map((v) => `${v} (${s.lrs
    ? s.lrs.map((lr) => `LR ${lr}: ${described(seedsOf(v, lr))}`).join('; ')
    : described(seedsOf(v))})`);
}

/** The rows of the study's method's reference.json (packages/<dir>/reference.json in this workspace). */
function referenceRows(s: Study): ReferenceRow[] {
  const file = path.resolve(__dirname, '../../packages', s.packageDir, 'reference.json');
  return readJson<{ rows: ReferenceRow[] }>(file, { rows: [] }).rows;
}

/** The seeds a study's run directory has finished, kept in it: each process's results CSV holds its own seeds only. */
const RUN_RECORDS = 'seed-records.csv';

/**
 * The seed records of every process that ran in `runDir`: those kept in its seed-records.csv, with the seeds of the
 * last process (its results CSV) added or replacing theirs, kept again (so a checkout that did not run them, or whose
 * results/ was reset, still finds them).
 */
function runDirSeedRecords(s: Study, runDir: string): Row[] {
  const file = path.join(runDir, RUN_RECORDS);
  const { records, differences } = mergeSeedRecords(fs.existsSync(file) ? readRows(file) : [], localSeedRecords(s, runDir));
  for (const d of differences) process.stderr.write(`evidence: a seed run again here differs from its earlier run: ${d}\n`);
  if (records.length > 0) {
    fs.writeFileSync(`${file}.new`, seedRecordsCsv(records));
    fs.renameSync(`${file}.new`, file);
  }
  return records;
}

/** A study with no seed to table: neither committed in results/ nor run in its run directory. */
class NoSeedsError extends Error {}

/**
 * Write results/<study>/ from the seeds committed there (seeds.csv, manifest.json) and the seeds run here: a study
 * grows seed by seed across machines that are not kept. A variant with neither keeps its committed row (rows.json
 * of a table written before seeds.csv existed).
 */
async function writeTable(s: Study, runDir: string, results: string): Promise<EvidenceRow[]> {
  const out = path.join(results, s.id);
  const seedsFile = path.join(out, 'seeds.csv');
  const committed = fs.existsSync(seedsFile) ? readRows(seedsFile) : [];
  const here = runDirSeedRecords(s, runDir);
  const { records, differences } = mergeSeedRecords(committed, here);
  for (const d of differences) process.stderr.write(`evidence: a seed run here differs from its committed record: ${d}\n`);
  if (records.length === 0) {
    throw new NoSeedsError(`no seeds of ${s.id}: neither ${studyResultsCsv(s, runDir)} nor ${seedsFile} exists (evidence run ${s.id})`);
  }
  const fresh = evidenceRows(s, records, referenceRows(s));
  const old = readJson<EvidenceRow[]>(path.join(out, 'rows.json'), []);
  const rows = s.variants.flatMap((v) => {
    const mine = fresh.filter((r) => r.variant === v);
    return mine.length > 0 ? mine : old.filter((r) => r.variant === v);
  });
  // Every seed this run directory has finished (not only the last process's): each gets its entry.
  const local = manifest(s, runDir, here);
  const kept = readJson<ManifestEntry[]>(path.join(out, 'manifest.json'), [])
    .filter((m) => !local.some((l) => manifestKey(l) === manifestKey(m)));
  const entries = [...kept, ...local].sort((a, b) => bySeedKey(manifestKey(a), manifestKey(b)));
  fs.mkdirSync(out, { recursive: true });
  fs.writeFileSync(seedsFile, seedRecordsCsv(records));
  fs.writeFileSync(path.join(out, 'table.md'), `${evidenceMarkdown(s, rows)}\n${seedsMarkdown(s, records)}`);
  fs.writeFileSync(path.join(out, 'table.csv'), evidenceCsv(rows));
  fs.writeFileSync(path.join(out, 'rows.json'), `${JSON.stringify(rows, null, 2)}\n`);
  fs.writeFileSync(path.join(out, 'manifest.json'), `${JSON.stringify(entries, null, 2)}\n`);
  const ticket = s.reference === 'ticket';
  const compared = ticket ? 'random init − winning ticket' : 'scratch − fine-tuned';
  const counts = rows.map((r) => r.seeds.length);
  const [fewest, most] = [Math.min(...counts), Math.max(...counts)];
  const seeds = fewest === most ? `${most} seeds` : `${fewest}–${most} seeds a row`;
  const title = `${s.id}: ${compared} (${s.profile}, CIFAR-10 subset, ${seeds})`;
  fs.writeFileSync(path.join(out, 'chart.svg'),
    await differenceChart(differencePoints(rows, rowLabel), title, `${compared}, top-1 points`, accuracyPoints(s, rows, rowLabel)));
  return rows;
}

/** How many of its study's seeds a row holds: '3', or '1 of 3' while the others are not finished. */
function seedsText(r: EvidenceRow): string {
  const wanted = studyById(r.study).seeds;
  return r.seeds.length >= wanted ? String(r.seeds.length) : `${r.seeds.length} of ${wanted}`;
}

/** results/summary.md and summary.svg: every study's rows that results/ holds, in one table and one chart. */
async function writeSummary(results: string): Promise<void> {
  const all: EvidenceRow[] = STUDIES.flatMap((s) => {
    const file = path.join(results, s.id, 'rows.json');
    return fs.existsSync(file) ? (JSON.parse(fs.readFileSync(file, 'utf8')) as EvidenceRow[]) : [];
  });
  const lines = all.flatMap((r) => r.comparisons.map((c) => [r.study, rowLabel(r), seedsText(r), c.name,
    intervalText(c.ours),
    c.ours.verdict,
    c.paper ? `${signed(c.paper.difference)}${c.paper.row ? ` (${c.paper.row})` : ''}` : '–',
    c.paper?.verdict ?? '–', r.converged ? 'yes' : 'NO']));
  const head = ['method', 'variant', 'seeds', 'regime', 'scratch − reference [95% CI]', 'ours', 'paper', 'paper\'s verdict',
    'baselines converged'];
  fs.writeFileSync(path.join(results, 'summary.md'), [
    '# Every study: scratch − fine-tuned (lottery tickets: random init − winning ticket)', '',
    'Generated by `npm run evidence -- table <study>` from results/*/rows.json; see each study\'s table.md.', '',
    markdownTable(head, lines), ''].join('\n'));
  if (all.length > 0) {
    fs.writeFileSync(path.join(results, 'summary.svg'),
      await differenceChart(differencePoints(all, label), 'scratch − reference, every study (small profile)',
        'scratch − reference, top-1 points'));
  }
}

export async function main(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({ args: argv, allowPositionals: true, options: {
    help: { type: 'boolean', short: 'h' }, 'run-dir': { type: 'string' }, 'data-dir': { type: 'string' },
    results: { type: 'string', default: 'results' }, variants: { type: 'string' }, seed: { type: 'string' },
    seeds: { type: 'string' }, lanes: { type: 'string' } } });
  const [command, id] = positionals;
  if (values.help || !command) {
    process.stdout.write(USAGE);
    return 0;
  }
  if (command === 'list') {
    for (const s of STUDIES) {
      const rows = committedSeeds(s, values.results!);
      process.stdout.write(`${s.id.padEnd(14)} ${rows.join(', ')}${s.note ? `  (${s.note})` : ''}\n`);
    }
    return 0;
  }
  if (command !== 'run' && command !== 'table' && command !== 'status') {
    throw new Error(`unknown command '${command}'; use run, table, status or list`);
  }
  if (!id) throw new Error(`${command} needs a study: ${STUDIES.map((s) => s.id).join(', ')}`);
  const studies = id === 'all' ? STUDIES : [...new Set(id.split(',').map((i) => i.trim()).filter(Boolean))].map(studyById);
  if (studies.length > 1 && values['run-dir']) {
    throw new Error('--run-dir goes with one study: with several, each keeps its runs in runs/study/<study>');
  }
  const runDirOf = (s: Study) => values['run-dir'] ?? path.join('runs', 'study', s.id);
  if (command === 'status') {
    for (const s of studies) {
      const runDir = runDirOf(s);
      process.stdout.write(`${s.id} (${runDir}):\n${fs.existsSync(runDir)
        ? statusLines(stageStatuses(runDir)).map((line) => `  ${line}`).join('\n') : '  no run directory yet'}\n`);
    }
    return 0;
  }
  if (command === 'run') {
    const dataDir = values['data-dir'] ?? path.relative(process.cwd(), SUBSET_DATA_DIR);
    const only = values.variants?.split(',').map((v) => v.trim()).filter(Boolean);
    const variants = variantsPerStudy(studies, only);
    const runs = studies.map((s, i) => planRun(s, runDirOf(s), dataDir, variants[i], values.seed, values.seeds, values.lanes));
    const status = await runStudies(runs, dataDir, values.results!, values.seed, values.lanes);
    if (status !== 0) return status;
  }
  for (const s of studies) {
    const rows = await writeTable(s, runDirOf(s), values.results!).catch((e: unknown) => {
      if (!(id === 'all' && e instanceof NoSeedsError)) throw e;
      process.stderr.write(`evidence: ${s.id} has no seed yet (evidence run ${s.id}): no table\n`);
    });
    if (!rows) continue;
    process.stdout.write(`${evidenceMarkdown(s, rows)}\nwritten: ${path.join(values.results!, s.id)}/\n`);
  }
  await writeSummary(values.results!);
  return 0;
}

if (require.main === module) {
  main(process.argv.slice(2)).then((code) => process.exit(code), (e: Error) => {
    process.stderr.write(`evidence: ${e.message}\nRun 'npm run evidence -- --help' for usage.\n`);
    process.exit(2);
  });
}
