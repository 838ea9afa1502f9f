import * as tf from '@tensorflow/tfjs';
import { mulberry32 } from '../data/rng';
import type { TracedGroup, TracedMember, TracedRole } from './traced-graph';

/** Channels to keep per prunable group id (sorted indices into the group's channels). */
export type TracedKeepSets = Record<string, number[]>;

export type TracedCriterion = 'l1' | 'bn-scale' | 'random';

/** The weights of a layer with the axis roles of each: which of its axes index channels of some group. */
const WEIGHT_AXES: Record<string, Array<Partial<Record<TracedRole, number>>>> = {
  Conv2D: [{ in: 2, out: 3 }, { out: 0 }],
  Dense: [{ in: 0, out: 1 }, { out: 0 }],
  SeparableConv2D: [{ in: 2 }, { in: 2, out: 3 }, { out: 0 }],
  DepthwiseConv2D: [{ depthwise: 2 }, { depthwise: 0 }],
  BatchNormalization: [{ bn: 0 }, { bn: 0 }, { bn: 0 }, { bn: 0 }],
};

/** The weight the L1 criterion ranks a producer's filters by (its kernel; SeparableConv2D's pointwise one). */
const RANKED_KERNEL: Record<string, number> = { Conv2D: 0, Dense: 0, SeparableConv2D: 1 };

/**
 * Scores per channel of a group: the L1 norm of every filter (or unit) that makes it, summed over the producers a
 * residual tie joins; or the mean |γ| of its BNs (a mean, so a tied group of many BNs meets the same global
 * threshold as an untied one; BNs without γ have no say).
 */
function scores(model: tf.LayersModel, group: TracedGroup, criterion: TracedCriterion, seed: number): number[] {
  const score = new Array<number>(group.size).fill(0);
  if (criterion === 'random') {
    const random = mulberry32(seed);
    return score.map(() => random());
  }
  const counts = new Array<number>(group.size).fill(0);
  for (const m of group.members.filter((x) => x.role === (criterion === 'l1' ? 'out' : 'bn'))) {
    const layer = model.getLayer(m.layer);
    const weight = criterion === 'l1'
      ? layer.getWeights()[RANKED_KERNEL[layer.getClassName()]]
      : layer.weights.find((w) => /gamma$/.test(w.originalName))?.read();
    if (!weight) continue;
    const perChannel = tf.tidy(() => {
      const abs = tf.abs(weight);
      const axes = abs.shape.map((_, i) => i).filter((i) => i !== abs.shape.length - 1);
      return (axes.length > 0 ? tf.sum(abs, axes) : abs).dataSync();
    });
    for (let c = 0; c < m.length; c++) {
      score[m.offset + c] += perChannel[m.at + c];
      counts[m.offset + c]++;
    }
  }
  return criterion === 'l1' ? score : score.map((v, c) => (counts[c] > 0 ? v / counts[c] : 0));
}

export interface TracedPruneOptions {
  criterion: TracedCriterion;
  /** Share of each prunable group's channels to remove (at least one channel stays). */
  ratio: number;
  seed?: number;
}

/**
 * Keep-sets for every prunable group: the channels of highest score. `bn-scale` ranks by |γ| against one threshold
 * over every BN-carrying group (slimming's global threshold); `l1` and `random` remove `ratio` of each group.
 */
export function tracedKeepSets(model: tf.LayersModel, groups: TracedGroup[], o: TracedPruneOptions): TracedKeepSets {
  if (!(o.ratio > 0 && o.ratio < 1)) throw new Error(`ratio ${o.ratio}: give a share between 0 and 1`);
  const hasGamma = (m: TracedMember) =>
    m.role === 'bn' && model.getLayer(m.layer).weights.some((w) => /gamma$/.test(w.originalName));
  const prunable = groups.filter((g) => g.fixed === undefined && (o.criterion !== 'bn-scale' || g.members.some(hasGamma)));
  if (prunable.length === 0) {
    const why = [...new Set(groups.map((g) => g.fixed).filter(Boolean))].join('; ');
    throw new Error(`no prunable channels: every channel group is fixed (${why || 'none found'})`);
  }
  const scored = prunable.map((g, i) => ({ group: g, score: scores(model, g, o.criterion, (o.seed ?? 0) + i) }));
  let threshold = -Infinity;
  if (o.criterion === 'bn-scale') {
    const all = scored.flatMap((s) => s.score).sort((a, b) => a - b);
    threshold = all[Math.floor(all.length * o.ratio)];
  }
  return Object.fromEntries(scored.map(({ group, score }) => {
    const order = score.map((v, c) => c).sort((a, b) => score[b] - score[a] || a - b);
    const count = o.criterion === 'bn-scale'
      ? score.filter((v) => v >= threshold).length
      : group.size - Math.floor(group.size * o.ratio);
    return [group.id, order.slice(0, Math.max(1, count)).sort((a, b) => a - b)];
  }));
}

type Removed = Map<string, Map<TracedRole, Set<number>>>;

/** The layer-axis indices each (layer, role) loses. */
function removedIndices(groups: TracedGroup[], keep: TracedKeepSets): Removed {
  const removed: Removed = new Map();
  for (const g of groups) {
    const kept = keep[g.id];
    if (!kept) continue;
    if (g.fixed) throw new Error(`group ${g.id} cannot be pruned: ${g.fixed}`);
    const keepSet = new Set(kept);
    for (const m of g.members) {
      const byRole = removed.get(m.layer) ?? new Map<TracedRole, Set<number>>();
      const indices = byRole.get(m.role) ?? new Set<number>();
      for (let c = 0; c < m.length; c++) {
        if (keepSet.has(m.offset + c)) continue;
        for (let p = 0; p < m.repeat; p++) indices.add(p * m.stride + m.at + c);
      }
      byRole.set(m.role, indices);
      removed.set(m.layer, byRole);
    }
  }
  return removed;
}

const kept = (size: number, removed?: Set<number>) =>
  Array.from({ length: size }, (_, i) => i).filter((i) => !removed?.has(i));

/**
 * The pruned model: the same layers, names and topology, with fewer filters and units where the keep-sets say and
 * the kept slices of every weight. It is a plain tfjs LayersModel (its model.json loads with tf.loadLayersModel).
 */
export async function pruneTracedModel(model: tf.LayersModel, groups: TracedGroup[], keep: TracedKeepSets):
  Promise<tf.LayersModel> {
  const removed = removedIndices(groups, keep);
  const topology = model.toJSON(null, false) as { config: { layers: Array<{ name?: string; config: Record<string, unknown> }> } };
  for (const layer of topology.config.layers) {
    // A functional model names its layers beside their config; a Sequential one inside it.
    const out = removed.get(layer.name ?? (layer.config.name as string))?.get('out');
    if (!out) continue;
    if ('filters' in layer.config) layer.config.filters = (layer.config.filters as number) - out.size;
    if ('units' in layer.config) layer.config.units = (layer.config.units as number) - out.size;
  }
  const pruned = await tf.models.modelFromJSON({ modelTopology: topology } as unknown as Parameters<typeof tf.models.modelFromJSON>[0]);
  for (const layer of model.layers) {
    const weights = layer.getWeights();
    if (weights.length === 0) continue;
    const roles = removed.get(layer.name);
    const axes = WEIGHT_AXES[layer.getClassName()];
    const sliced = weights.map((w, i) => tf.tidy(() => {
      let t = w;
      for (const [role, axis] of Object.entries(axes?.[i] ?? {}) as Array<[TracedRole, number]>) {
        const gone = roles?.get(role);
        if (gone && gone.size > 0) t = tf.gather(t, kept(t.shape[axis], gone), axis);
      }
      return t === w ? w.clone() : t;
    }));
    pruned.getLayer(layer.name).setWeights(sliced);
    tf.dispose(sliced);
  }
  return pruned;
}

/**
 * Keep-sets that remove at least `reduction` of the model's multiply-adds (`layerFlops`), with the smallest uniform
 * ratio (l1, random: the share of each group; bn-scale: the share of all BN channels) that does: a bisection over the
 * ratio, each step counted on the pruned model. Returns the ratio and the reduction it gives.
 */
export async function keepSetsForFlops(model: tf.LayersModel, groups: TracedGroup[],
  o: { criterion: TracedCriterion; reduction: number; seed?: number; flops: (m: tf.LayersModel) => number }):
  Promise<{ keep: TracedKeepSets; ratio: number; reduction: number }> {
  if (!(o.reduction > 0 && o.reduction < 1)) throw new Error(`FLOPs reduction ${o.reduction}: give a share between 0 and 1`);
  const full = o.flops(model);
  const reductionAt = async (ratio: number) => {
    const keep = tracedKeepSets(model, groups, { criterion: o.criterion, ratio, seed: o.seed });
    const pruned = await pruneTracedModel(model, groups, keep);
    const reduction = 1 - o.flops(pruned) / full;
    pruned.dispose();
    return { keep, ratio, reduction };
  };
  let [low, high] = [0, 0.999];
  let best = await reductionAt(high);
  if (best.reduction < o.reduction) {
    throw new Error(`removing ${(100 * o.reduction).toFixed(1)}% of the multiply-adds is out of reach: pruning every ` +
      `prunable group to one channel removes ${(100 * best.reduction).toFixed(1)}% (the rest is in fixed groups)`);
  }
  for (let step = 0; step < 14; step++) {
    const middle = (low + high) / 2;
    const at = await reductionAt(middle);
    if (at.reduction >= o.reduction) [high, best] = [middle, at];
    else low = middle;
  }
  return best;
}

/** Every trainable and non-trainable weight's element count: what a pruned model saves. */
export const paramCount = (model: tf.LayersModel) =>
  model.weights.reduce((a, w) => a + w.shape.reduce((x: number, d) => x * (d ?? 1), 1), 0);

export type { TracedMember };
