import * as fs from 'fs';

/**
 * The paper's numbers for one row of one of its tables, as a method package ships them in reference.json:
 * `{ "source": "...", "rows": [{ "table": "Table 1", "row": "CIFAR-10 / VGG-16 / VGG-16-A", "dataset": "cifar10",
 * "model": "vgg16", "variant": "vgg16-A", "baseline": 93.63, "finetuned": 93.41, "scratchE": 93.62,
 * "scratchB": 93.78 }] }`. A cell the paper does not give is null.
 */
export interface ReferenceRow {
  table: string;
  row: string;
  dataset: string;
  model: string;
  variant: string;
  baseline: number | null;
  finetuned: number | null;
  scratchE: number | null;
  scratchB: number | null;
  /**
   * A table that prints changes instead of accuracies (Tables 2 and 3: ThiNet, regression): each change and the
   * unpruned accuracy it is relative to, as printed.
   */
  printed?: PrintedDeltas;
  /**
   * A table of pruned widths (Table 8: the architecture slimming finds): per layer in order, the original width and
   * the pruned width* as the paper prints them (mean ± std over its runs).
   */
  widths?: PaperWidth[];
}

export interface PaperWidth {
  width: number;
  mean: number;
  std: number;
}

export interface PrintedDeltas {
  finetuned_reference: number;
  finetuned_delta: number | null;
  scratch_reference: number;
  scratchE_delta: number | null;
  scratchB_delta: number | null;
}

export interface PaperNumbers {
  baseline?: number;
  finetuned?: number;
  scratchE?: number;
  scratchB?: number;
  source: string;
}

export class ReferenceError extends Error {
  constructor(
    readonly file: string,
    problem: string,
  ) {
    super(`${file}: ${problem}`);
    this.name = 'ReferenceError';
  }
}

const CELLS = ['baseline', 'finetuned', 'scratchE', 'scratchB'] as const;
const LABELS = ['table', 'row', 'dataset', 'model', 'variant'] as const;

export function readReference(file: string): ReferenceRow[] {
  let json: unknown;
  try {
    json = JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch (e) {
    throw new ReferenceError(file, `cannot read the paper's numbers (${(e as Error).message})`);
  }
  const rows = (json as { rows?: unknown }).rows;
  if (!Array.isArray(rows)) throw new ReferenceError(file, 'expected { "rows": [...] }');
  rows.forEach((r: Record<string, unknown>, i) => {
    for (const k of LABELS)
      if (typeof r[k] !== 'string') throw new ReferenceError(file, `rows[${i}].${k} must be a string`);
    for (const k of CELLS) {
      if (r[k] === undefined) r[k] = null;
      if (r[k] !== null && typeof r[k] !== 'number')
        throw new ReferenceError(file, `rows[${i}].${k} must be a number or null`);
    }
    const widths = r.widths as Array<Record<string, unknown>> | undefined;
    if (widths !== undefined && (!Array.isArray(widths) ||
      !widths.every((w) => ['width', 'mean', 'std'].every((k) => typeof w?.[k] === 'number')))) {
      throw new ReferenceError(file, `rows[${i}].widths must be a list of { "width", "mean", "std" } numbers`);
    }
  });
  return rows as ReferenceRow[];
}

/**
 * The paper's row for a variant (of those `has` accepts): the one for the run's dataset, else its CIFAR-10 row (which
 * stands beside runs on other data; its source says which table and dataset it is), else its first.
 */
function paperRow(rows: ReferenceRow[], variant: string, dataset: string,
  has: (row: ReferenceRow) => boolean = () => true): ReferenceRow | undefined {
  const candidates = rows.filter((r) => r.variant === variant && has(r));
  return candidates.find((r) => r.dataset === dataset) ?? candidates.find((r) => r.dataset === 'cifar10') ??
    candidates[0];
}

/** The paper's numbers for a variant, from its row (paperRow). */
export function paperNumbers(
  rows: ReferenceRow[],
  variant: string,
  dataset: string,
): PaperNumbers | undefined {
  const row = paperRow(rows, variant, dataset);
  if (!row) return undefined;
  const cells = Object.fromEntries(CELLS.filter((k) => row[k] !== null).map((k) => [k, row[k]]));
  return { ...cells, source: `${row.table}: ${row.row}` };
}

/** The paper's row of pruned widths for a variant, chosen as paperNumbers chooses among the rows that have them. */
export const paperWidths = (rows: ReferenceRow[], variant: string, dataset: string): ReferenceRow | undefined =>
  paperRow(rows, variant, dataset, (row) => row.widths !== undefined);
