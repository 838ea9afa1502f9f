import * as fs from 'fs';
import * as path from 'path';
import { parseArgs } from 'util';
import { accuracyChart, type ChartPoint } from './chart';
import { experiments, findResultFiles, readRows, reportCsv, reportMarkdown, type Experiment } from './report';

const USAGE = `nx run tools:report [--runs <dir>] [--out <dir>]

Gathers every results-<dataset>.csv under --runs (default runs/) into one table, ours beside the paper's, with the
measured speed-up next to the FLOPs reduction, and draws accuracy vs FLOPs and vs params for each method and model.
Writes <out>/report.md, <out>/report.csv and <out>/charts/*.svg (default out: reports/).
`;

/** One chart per method, model, dataset and profile: every variant's three regimes and the unpruned model. */
function chartGroups(all: Experiment[]): Map<string, Experiment[]> {
  const groups = new Map<string, Experiment[]>();
  for (const e of all) {
    const key = [e.method, e.model, e.dataset, e.profile].join('-');
    groups.set(key, [...(groups.get(key) ?? []), e]);
  }
  return groups;
}

function chartPoints(group: Experiment[]): ChartPoint[] {
  const points: ChartPoint[] = [];
  for (const e of group) {
    for (const regime of ['fine-tuned', 'Scratch-E', 'Scratch-B'] as const) {
      const cell = e.cells[regime];
      if (cell.mean === null) continue;
      points.push({ regime, variant: e.variant, flops: e.prunedFlops, params: e.prunedParams, accuracy: cell.mean,
        ...(e.seeds > 1 ? { std: cell.std ?? 0 } : {}) });
    }
  }
  const unpruned = group[0].cells.unpruned;
  if (unpruned.mean !== null) {
    points.push({ regime: 'unpruned', variant: 'unpruned', flops: group[0].flops, params: group[0].params,
      accuracy: unpruned.mean });
  }
  return points;
}

export async function writeReport(runs: string, out: string): Promise<{ experiments: number; charts: string[] }> {
  const files = findResultFiles(runs);
  if (files.length === 0) throw new Error(`no results-<dataset>.csv under ${runs}; run a method's reproduce first`);
  const all = experiments(files.flatMap(readRows));
  fs.mkdirSync(path.join(out, 'charts'), { recursive: true });
  const charts: string[] = [];
  for (const [key, group] of chartGroups(all)) {
    if (chartPoints(group).length === 0) continue; // no accuracy at all (an interrupted grid)
    for (const x of ['flops', 'params'] as const) {
      const title = `${group[0].method}: ${group[0].model} on ${group[0].dataset} (${group[0].profile})`;
      const file = path.join('charts', `${key}-${x}.svg`.replace(/[^\w.-]+/g, '_'));
      fs.writeFileSync(path.join(out, file), await accuracyChart(chartPoints(group), { x, title }));
      charts.push(file);
    }
  }
  const links = charts.map((file) => `- [${path.basename(file, '.svg')}](${file})`);
  fs.writeFileSync(path.join(out, 'report.md'), `${reportMarkdown(all)}\n\n## Charts\n\n${links.join('\n')}\n`);
  fs.writeFileSync(path.join(out, 'report.csv'), reportCsv(all));
  return { experiments: all.length, charts };
}

async function main(argv: string[]): Promise<number> {
  let values;
  try {
    values = parseArgs({ args: argv, options: { runs: { type: 'string', default: 'runs' },
      out: { type: 'string', default: 'reports' }, help: { type: 'boolean', short: 'h' } } }).values;
  } catch (e) {
    process.stderr.write(`report: ${(e as Error).message}\n${USAGE}`);
    return 2;
  }
  if (values.help) {
    process.stdout.write(USAGE);
    return 0;
  }
  try {
    const { experiments: count, charts } = await writeReport(values.runs!, values.out!);
    process.stdout.write(`report: ${count} experiments → ${path.join(values.out!, 'report.md')}, ` +
      `${path.join(values.out!, 'report.csv')} and ${charts.length} charts in ${path.join(values.out!, 'charts')}\n`);
    return 0;
  } catch (e) {
    process.stderr.write(`report: ${(e as Error).message}\n`);
    return 1;
  }
}

if (require.main === module) main(process.argv.slice(2)).then((code) => { process.exitCode = code; });
