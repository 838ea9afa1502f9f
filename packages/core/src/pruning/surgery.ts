import * as tf from '@tensorflow/tfjs';
import { SpecError } from '../errors';
import { channelGroups, residualTies, withWidths, type ChannelGroup, type MemberKind } from './graph';
import { buildModel, type ArchSpec } from '../spec';
import { familyOf } from '../models/registry';

/** Channels to keep, per channel group id (see channelGroups); groups not named keep everything. */
export type KeepSets = Record<string, number[]>;

interface AxisSelection { axis: number; indices: number[] }

/** Which axis of which weight (by index in layer.getWeights()) a member of `kind` indexes. */
function selections(kind: MemberKind, weightShapes: number[][], keep: number[], size: number, repeat = 1): Array<AxisSelection & { weight: number }> {
  switch (kind) {
    case 'conv-out':
      return weightShapes.map((s, w) => ({ weight: w, axis: s.length === 4 ? 3 : 0, indices: keep }));
    case 'conv-in':
      return [{ weight: 0, axis: 2, indices: keep }];
    case 'select-out':
      return [{ weight: 0, axis: 3, indices: keep }];
    case 'dense-out':
      return weightShapes.map((s, w) => ({ weight: w, axis: s.length === 2 ? 1 : 0, indices: keep }));
    case 'bn':
      return weightShapes.map((_, w) => ({ weight: w, axis: 0, indices: keep }));
    case 'dense-in': {
      const indices: number[] = [];
      for (let p = 0; p < repeat; p++) for (const c of keep) indices.push(p * size + c);
      return [{ weight: 0, axis: 0, indices }];
    }
  }
}

function checkKeepSets(groups: ChannelGroup[], keep: KeepSets, tied: Set<string>): void {
  const known = new Map(groups.map((g) => [g.id, g]));
  const problems: string[] = [];
  for (const [id, indices] of Object.entries(keep)) {
    const g = known.get(id);
    if (!g && tied.has(id)) {
      problems.push(`'${id}' is tied by residual additions (see residualTies) and cannot be pruned alone`);
      continue;
    }
    if (!g) {
      problems.push(`keep-set for unknown channel group '${id}'`);
      continue;
    }
    if (g.specIndex < 0) {
      problems.push(`${id}: its width is fixed by the architecture (not in the spec) and cannot be pruned`);
      continue;
    }
    if (indices.length === 0) problems.push(`${id}: keeps no channel; at least one must remain`);
    if (new Set(indices).size !== indices.length) problems.push(`${id}: repeated channel indices`);
    const bad = indices.filter((i) => !Number.isInteger(i) || i < 0 || i >= g.size);
    if (bad.length > 0) problems.push(`${id}: indices ${bad.slice(0, 5).join(', ')} outside 0..${g.size - 1}`);
    const unselected = g.selection ? indices.filter((i) => !g.selection!.current.includes(i)) : [];
    if (unselected.length > 0) problems.push(`${id}: channels ${unselected.slice(0, 5).join(', ')} of ${g.selection!.bn} are not selected now`);
  }
  if (problems.length > 0) throw new SpecError(problems);
}

/**
 * Surgery: a smaller spec and a new model holding the kept slices of every weight (BN statistics too).
 * The input model is left untouched.
 */
export function pruneChannels(model: tf.LayersModel, spec: ArchSpec, keep: KeepSets): { spec: ArchSpec; model: tf.LayersModel } {
  const groups = channelGroups(spec);
  checkKeepSets(groups, keep, new Set(residualTies(spec).map((t) => t.id)));
  const sorted = Object.fromEntries(Object.entries(keep).map(([id, k]) => [id, [...k].sort((a, b) => a - b)]));
  let newSpec = withWidths(spec, new Map(Object.entries(sorted).map(([id, k]) => [id, k.length])));
  const byLayer = new Map<string, Array<{ kind: MemberKind; keep: number[]; size: number; repeat?: number }>>();
  for (const g of groups) {
    if (!sorted[g.id]) continue;
    // A selection group is kept by BN channel; its members hold only the selected ones, by position.
    const sel = g.selection;
    const keep = sel ? sorted[g.id].map((c) => sel.current.indexOf(c)) : sorted[g.id];
    const size = sel ? sel.current.length : g.size;
    if (sel) {
      const family = familyOf(newSpec);
      if (!family.withSelection) throw new SpecError([`${g.id}: a selection group, but ${newSpec.arch} has no selections`]);
      newSpec = family.withSelection(newSpec, sel.layer, sorted[g.id]);
    }
    for (const m of g.members) {
      const list = byLayer.get(m.layer) ?? [];
      list.push({ kind: m.kind, keep, size, repeat: m.repeat });
      byLayer.set(m.layer, list);
    }
  }
  const newModel = buildModel(newSpec, 0);
  for (const layer of model.layers) {
    const old = layer.getWeights();
    if (old.length === 0) continue;
    const sliced = tf.tidy(() => {
      const weights = old.map((w) => w.clone());
      for (const m of byLayer.get(layer.name) ?? []) {
        for (const sel of selections(m.kind, weights.map((w) => w.shape), m.keep, m.size, m.repeat)) {
          weights[sel.weight] = tf.gather(weights[sel.weight], sel.indices, sel.axis);
        }
      }
      return weights;
    });
    newModel.getLayer(layer.name).setWeights(sliced);
    tf.dispose(sliced);
  }
  return { spec: newSpec, model: newModel };
}
