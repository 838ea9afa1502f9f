import { channelGroups } from './graph';
import type { ArchSpec } from '../spec';

export class TargetWidthError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'TargetWidthError';
  }
}

/**
 * Target widths computed on the paper's full-width model, carried over to `spec` (the same architecture at its
 * own widths, such as a narrow `quick` copy): each group keeps the same fraction of its channels. Rounding runs
 * over the running total of the groups in order, so that a narrow copy removes the same share of channels
 * overall even where a single group has only a few (6 of 16 channels per block, at a quarter width 1.5 of 4, becomes 2, 1, 2, 1, ...).
 * Every group keeps at least one channel and at most all of its own.
 */
export function scaleTargets(
  fullTargets: Map<string, number>,
  fullSpec: ArchSpec,
  spec: ArchSpec,
): Map<string, number> {
  const fullSizes = new Map(channelGroups(fullSpec).map((g) => [g.id, g.size]));
  const groups = channelGroups(spec);
  const mismatch = groups.length !== fullSizes.size || groups.some((g) => !fullSizes.has(g.id));
  if (mismatch || spec.arch !== fullSpec.arch) {
    throw new TargetWidthError(
      `the model is not a copy of the variant's ${describe(fullSpec)} ` +
        `(its channel groups differ: ${describe(spec)}); prune a model of the variant's architecture`,
    );
  }
  const scaled = new Map<string, number>();
  let exactTotal = 0;
  let roundedTotal = 0;
  for (const g of groups) {
    const target = fullTargets.get(g.id);
    if (target === undefined) continue;
    exactTotal += (target * g.size) / fullSizes.get(g.id)!;
    const width = Math.min(g.size, Math.max(1, Math.round(exactTotal) - roundedTotal));
    roundedTotal += width;
    scaled.set(g.id, width);
  }
  return scaled;
}

function describe(spec: ArchSpec): string {
  return 'depth' in spec
    ? `${spec.arch}-${spec.depth}`
    : `${spec.arch} with ${channelGroups(spec).length} channel groups`;
}
