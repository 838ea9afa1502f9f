import { channelGroups } from '../pruning/graph';
import { keptWeights, type MaskSet } from '../pruning/masks';
import { mean, sampleStd } from '../stats';
import type { ArchSpec } from '../spec';
import type { PaperWidth } from './reference';

/** One prunable layer's width before and after a prune (a selection counts its selected channels). */
export interface LayerWidth {
  layer: string;
  width: number;
  pruned: number;
}

const selectedWidth = (g: ReturnType<typeof channelGroups>[number]) => g.selection?.current.length ?? g.size;

/** The width of every prunable group of `before` and of the same group in `after` (a pruned copy of it). */
export function layerWidths(before: ArchSpec, after: ArchSpec): LayerWidth[] {
  const pruned = new Map(channelGroups(after).map((g) => [g.id, selectedWidth(g)]));
  return channelGroups(before)
    .filter((g) => g.specIndex >= 0)
    .map((g) => ({ layer: g.id, width: selectedWidth(g), pruned: pruned.get(g.id) ?? selectedWidth(g) }));
}

/** The weights and non-zero weights of every masked weight (an unstructured prune), by weight name. */
export function maskedCounts(masks: MaskSet): LayerWidth[] {
  return [...masks].map(([layer, mask]) => ({
    layer, width: mask.size, pruned: keptWeights(mask),
  }));
}

/** `layer  weights  non-zero  sparsity` lines with the total, as `sparsity` prints them. */
export function sparsityLines(counts: LayerWidth[]): string[] {
  const pad = Math.max(5, ...counts.map((c) => c.layer.length));
  const total = counts.reduce((sum, c) => [sum[0] + c.width, sum[1] + c.pruned], [0, 0]);
  const line = (layer: string, weights: number, kept: number) =>
    `  ${layer.padEnd(pad)} ${String(weights).padStart(10)} ${String(kept).padStart(10)} ` +
    `${(100 * (1 - kept / weights)).toFixed(2).padStart(7)}%`;
  return [`  ${'layer'.padEnd(pad)} ${'weights'.padStart(10)} ${'non-zero'.padStart(10)} sparsity`,
    ...counts.map((c) => line(c.layer, c.width, c.pruned)), line('total', total[0], total[1])];
}

/** `layer  width → width*` lines, with the total, as `prune` prints them. */
export function layerWidthLines(widths: LayerWidth[]): string[] {
  const pad = Math.max(5, ...widths.map((w) => w.layer.length));
  const total = widths.reduce((sum, w) => [sum[0] + w.width, sum[1] + w.pruned], [0, 0]);
  return [...widths, { layer: 'total', width: total[0], pruned: total[1] }].map(
    (w) => `  ${w.layer.padEnd(pad)} ${String(w.width).padStart(5)} → ${String(w.pruned).padStart(5)}`,
  );
}

/**
 * The pruned architecture of one experiment over its seeds, as the paper's Table 8 gives it: per layer the
 * original width and the pruned width* as mean ± std over the seeds, and the totals (an unstructured prune:
 * weights and non-zero weights). With the paper's widths for the same layers (`paper`), the share each layer kept
 * stands beside the paper's: a narrowed model is compared by share, not by width.
 */
export function widthsMarkdown(title: string, seeds: LayerWidth[][], headers = ['width', 'width*'],
  paper?: { source: string; widths: PaperWidth[] }): string {
  const layers = seeds[0].map((w, i) =>
    ({ layer: w.layer, width: w.width, pruned: seeds.map((run) => run[i].pruned) }));
  const total = {
    layer: 'total',
    width: layers.reduce((sum, l) => sum + l.width, 0),
    pruned: seeds.map((run) => run.reduce((sum, w) => sum + w.pruned, 0)),
  };
  const cell = (xs: number[]) => `${mean(xs).toFixed(1)} ± ${sampleStd(xs).toFixed(1)}`;
  const kept = (part: number, whole: number) => `${((100 * part) / whole).toFixed(1)}%`;
  const beside = paper?.widths.length === layers.length ? paper : undefined;
  const paperTotal = beside && {
    width: beside.widths.reduce((sum, w) => sum + w.width, 0),
    mean: beside.widths.reduce((sum, w) => sum + w.mean, 0),
  };
  /** Our share kept, then the paper's width → width* and its share kept (its total has no std). */
  const paperCells = (ours: typeof total, theirs: { width: number; mean: number; std?: number }) =>
    ` ${kept(mean(ours.pruned), ours.width)} | ${theirs.width} → ${theirs.mean.toFixed(1)}` +
    `${theirs.std === undefined ? '' : ` ± ${theirs.std.toFixed(1)}`} | ${kept(theirs.mean, theirs.width)} |`;
  const lines = [
    ...layers.map((l, i) => `| ${i + 1} | ${l.layer} | ${l.width} | ${cell(l.pruned)} |` +
      (beside ? paperCells(l, beside.widths[i]) : '')),
    `| | total | ${total.width} | ${cell(total.pruned)} |${paperTotal ? paperCells(total, paperTotal) : ''}`,
  ];
  const header = `| # | layer | ${headers[0]} | ${headers[1]} (mean ± std) |` +
    (beside ? ` kept | paper: ${headers[0]} → ${headers[1]} | paper kept |` : '');
  const rule = beside ? '|---|---|---|---|---|---|---|' : '|---|---|---|---|';
  const note = !paper ? [] : beside ? [`The paper's: ${paper.source}.`, '']
    : [`The paper's widths (${paper.source}) have ${paper.widths.length} layers, this model ${layers.length}: ` +
      'not set beside.', ''];
  const seedCount = `${seeds.length} seed${seeds.length > 1 ? 's' : ''}`;
  return [`### ${title} (${seedCount})`, '', ...note, header, rule, ...lines].join('\n');
}
