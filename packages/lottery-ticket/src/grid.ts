import * as path from 'path';
import {
  experimentSpecs, loadTrainingData, writeFileAtomic, type Profile,
} from '@rethink-prune/core';
import type { DatasetName } from '@rethink-prune/datasets';
import { ticketChart } from './chart';
import { runTicketExperiment, type TicketRow } from './experiment';
import { chartPoints, ticketsCsv, ticketsMarkdown } from './results';
import { ticketVariant } from './variants';

export interface TicketGridOptions {
  profile: Profile;
  dataset: DatasetName;
  dataDir: string;
  variants: string[];
  /** Seeds 0 .. seeds−1. */
  seeds: number;
  /** The initial learning rates compared (paper: 0.1 and 0.01). */
  lrs: number[];
  rounds: number;
  rate: number;
  runDir: string;
  fresh: boolean;
}

/** Where the grid writes `tickets-<dataset>.csv`, `.md` and `.svg`. */
export const ticketsBase = (o: Pick<TicketGridOptions, 'runDir' | 'profile' | 'dataset'>) =>
  path.join(o.runDir, o.profile.name, `tickets-${o.dataset}`);

/** Checks every variant and its pairing with the dataset before any data is read. */
export function checkTicketGrid(o: Pick<TicketGridOptions, 'variants' | 'dataset' | 'profile'>): void {
  for (const name of o.variants) experimentSpecs(ticketVariant(name), name, o.dataset, o.profile);
}

/** Every variant at every LR for every seed; writes the CSV, the markdown table and the chart. */
export async function runTicketGrid(
  o: TicketGridOptions,
  data = loadTrainingData(o.dataset, o.dataDir),
): Promise<TicketRow[]> {
  checkTicketGrid(o);
  const rows: TicketRow[] = [];
  for (let seed = 0; seed < o.seeds; seed++) {
    for (const variant of o.variants) {
      for (const lr of o.lrs) {
        rows.push(...await runTicketExperiment(variant, {
          profile: o.profile, seed, data, runRoot: path.join(o.runDir, o.profile.name), lr, rounds: o.rounds,
          rate: o.rate, fresh: o.fresh,
        }));
      }
    }
  }
  const base = ticketsBase(o);
  writeFileAtomic(`${base}.csv`, ticketsCsv(rows));
  writeFileAtomic(`${base}.md`, `${ticketsMarkdown(rows)}\n`);
  const title = `Winning ticket vs random init, ${o.dataset} (${o.profile.name} profile)`;
  writeFileAtomic(`${base}.svg`, await ticketChart(chartPoints(rows), title));
  return rows;
}
