import * as tf from '@tensorflow/tfjs';
import { channelGroups, pruneChannels, type ArchSpec, type KeepSets } from '@rethink-prune/core';
import { filterL2Norms } from './soft-prune';

/**
 * The dense small model a soft-pruned ResNet allows: the seed never builds one (it keeps the zeros). Only the
 * first conv of each block can lose its zeroed filters, since its outputs feed the block's second conv alone;
 * every other conv's outputs are tied to the residual stream. Note that a zeroed filter's channel still carries
 * its BN shift through the ReLU into the next conv, so the compact model computes the same function only where
 * that BN's γ and β of the removed channels are zero too.
 */
export function compactKeepSets(model: tf.LayersModel, spec: ArchSpec): KeepSets {
  const keep: KeepSets = {};
  for (const group of channelGroups(spec).filter((g) => g.specIndex >= 0)) {
    const norms = filterL2Norms(model.getLayer(group.id).getWeights()[0]);
    const kept = Array.from(norms.keys()).filter((filter) => norms[filter] > 0);
    if (kept.length > 0 && kept.length < norms.length) keep[group.id] = kept;
  }
  return keep;
}

/** The compact model and spec (core's surgery over compactKeepSets), and which convs it shrank. */
export function compactModel(model: tf.LayersModel, spec: ArchSpec): { spec: ArchSpec; model: tf.LayersModel; shrunk: string[] } {
  const keep = compactKeepSets(model, spec);
  return { ...pruneChannels(model, spec, keep), shrunk: Object.keys(keep) };
}
