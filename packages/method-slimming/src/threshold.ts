import * as tf from '@tensorflow/tfjs';
import { channelGroups, namedWeights, type ArchSpec, type KeepSets } from '@rethink-prune/core';

/** The BN scales of one prunable group: the BN channels it can still lose and their |γ|. */
export interface GroupScales {
  group: string;
  bn: string;
  channels: number[];
  scales: number[];
}

export class NoBatchNormError extends Error {
  constructor(groups: string[]) {
    super(`Network Slimming prunes by BN scales, but ${groups.slice(0, 3).join(', ')}` +
      `${groups.length > 3 ? ` and ${groups.length - 3} more` : ''} have no BN after them`);
    this.name = 'NoBatchNormError';
  }
}

/**
 * |γ| of every BN that defines a prunable group's channels: the BN after each conv (VGG, PreResNet's bn2 and
 * bn3, the fc BNs of ImageNet VGG-11) and the BN each channel selection reads (PreResNet's bn1 and final bn,
 * every DenseNet BN). Together these are all the BNs of the seed's models, as vggprune/resprune/denseprune take
 * them. A selection offers only the channels it selects now.
 */
export function groupScales(model: tf.LayersModel, spec: ArchSpec): GroupScales[] {
  const weights = namedWeights(model);
  const groups = channelGroups(spec).filter((g) => g.specIndex >= 0);
  const bnOf = (g: (typeof groups)[number]) => g.selection?.bn ?? g.members.find((m) => m.kind === 'bn')?.layer;
  const missing = groups.filter((g) => bnOf(g) === undefined).map((g) => g.id);
  if (missing.length > 0 || groups.length === 0) throw new NoBatchNormError(missing.length > 0 ? missing : [spec.arch]);
  return groups.map((g) => {
    const bn = bnOf(g)!;
    const gamma = weights.get(`${bn}/gamma`)!.read().dataSync();
    const channels = g.selection?.current ?? Array.from({ length: g.size }, (_, c) => c);
    return { group: g.id, bn, channels, scales: channels.map((c) => Math.abs(gamma[c])) };
  });
}

/** The seed's threshold: sort all |γ| ascending and take the one at index int(total · percent). */
export function globalThreshold(groups: GroupScales[], percent: number): number {
  const all = Float64Array.from(groups.flatMap((g) => g.scales)).sort();
  return all[Math.floor(all.length * percent)];
}

export interface SlimmingPrune {
  keep: KeepSets;
  threshold: number;
  /** BN channels offered and removed (more than int(total · percent) where scales tie with the threshold). */
  total: number;
  removed: number;
  /** Groups in which no |γ| passed the threshold; each keeps its one largest channel instead of none. */
  emptied: string[];
}

/**
 * Network Slimming's prune: a channel stays iff |γ| > the global threshold (strict, so ties with the
 * threshold go). The seed has no rule for a layer that loses every channel (its pruned model cannot be
 * built); we keep that layer's largest-|γ| channel (lowest index on a tie) and name the layer in `emptied`.
 * Groups that keep every channel get no keep-set.
 */
export function slimmingKeepSets(groups: GroupScales[], percent: number): SlimmingPrune {
  const threshold = globalThreshold(groups, percent);
  const keep: KeepSets = {};
  const emptied: string[] = [];
  let removed = 0;
  for (const g of groups) {
    let kept = g.channels.filter((_, i) => g.scales[i] > threshold);
    if (kept.length === 0) {
      const strongest = g.scales.reduce((best, s, i) => (s > g.scales[best] ? i : best), 0);
      kept = [g.channels[strongest]];
      emptied.push(g.group);
    }
    if (kept.length < g.channels.length) keep[g.group] = kept;
    removed += g.channels.length - kept.length;
  }
  const total = groups.reduce((sum, g) => sum + g.channels.length, 0);
  return { keep, threshold, total, removed, emptied };
}
