import type * as tf from '@tensorflow/tfjs';
import type { DatasetName } from '../datasets-info';
import { SpecError } from '../errors';
import type { ChannelGroup, TiedChannels } from './channels';

/**
 * Everything core knows about one architecture family, in the family's own module (`models/<family>.ts`).
 * spec.ts, widths.ts, pruning/graph.ts and pruning/counting.ts find the family of a spec by its `arch` (models/registry.ts)
 * and ask it; a new variant of a family touches its module only.
 */
export interface ArchFamily<Spec extends { arch: string; dataset: DatasetName }> {
  /** The `arch` field of its specs. */
  readonly arch: Spec['arch'];
  /** The model names namedSpec answers to, as the unknown-name error lists them. */
  readonly modelNames: string;
  /** Every problem of an untrusted object whose `arch` is this family ([] when it is valid). */
  specProblems(input: Record<string, unknown>): string[];
  /** The spec of a named unpruned model (`vgg16`, `resnet56`, ...), or undefined if the name is not ours. */
  namedSpec(name: string, dataset: DatasetName): Spec | undefined;
  /** The tfjs model, initialised as the seed repository does, from `seed`. */
  build(spec: Spec, seed: number): tf.LayersModel;
  /** Prunable channel groups (see pruning/graph.ts). */
  channelGroups(spec: Spec): ChannelGroup[];
  /** Channels tied by residual additions; [] for families without them. */
  residualTies(spec: Spec): TiedChannels[];
  /** The spec with the named groups at new widths (each group's specIndex says where its width lives). */
  withWidths(spec: Spec, widths: ReadonlyMap<string, number>): Spec;
  /** The same architecture with every width divided by `divisor` (rounded by `narrow`), for quick runs. */
  narrowSpec(spec: Spec, divisor: number): Spec;
  /**
   * For families with channel selections (a fixed 0/1 layer picking BN channels): the spec with selection `layer`
   * keeping the BN channels `kept`. Surgery calls it for every selection group it prunes.
   */
  withSelection?(spec: Spec, layer: string, kept: number[]): Spec;
  /** Pooling and ReLU layers the seed runs as functional calls, which its FLOPs hooks do not see (they count 0). */
  functionalInSeed(layerName: string, spec: Spec): boolean;
}

/** Divides a width, keeping at least one channel: the one rounding rule of every narrowed spec. */
export const narrow = (width: number, divisor: number) => Math.max(1, Math.round(width / divisor));

export const isPositiveInt = (value: unknown) =>
  typeof value === 'number' && Number.isInteger(value) && value > 0;

/** `cfg[i]: … is not a channel count > 0` for every bad entry; with `pools`, 'M' (a max pool) passes. */
export function cfgEntryProblems(cfg: unknown[], pools = false): string[] {
  const want = pools ? 'a channel count > 0 or "M"' : 'a channel count > 0';
  return cfg.flatMap((value, i) => (pools && value === 'M') || isPositiveInt(value)
    ? [] : [`cfg[${i}]: ${JSON.stringify(value)} is not ${want}`]);
}

/** How a wrong-length list reads in an error: its length, or the value itself when it is not a list. */
export const lengthOrValue = (value: unknown) =>
  (Array.isArray(value) ? value.length : JSON.stringify(value));

/** `indices` are `count` increasing channel indices in 0..channels−1 (a selection's kept channels). */
export function isSelectionList(indices: unknown, count: number, channels: number): boolean {
  return Array.isArray(indices) && indices.length === count && indices.every((channel, i) =>
    Number.isInteger(channel) && channel >= 0 && channel < channels && (i === 0 || channel > indices[i - 1]));
}

/** A cfg with the named groups' widths written at their specIndex (groups the spec fixes, index −1, stay). */
export function cfgWithWidths<Entry>(
  cfg: Entry[], groups: ChannelGroup[], widths: ReadonlyMap<string, number>,
): Array<Entry | number> {
  const out: Array<Entry | number> = [...cfg];
  for (const group of groups) {
    const width = widths.get(group.id);
    if (width !== undefined && group.specIndex >= 0) out[group.specIndex] = width;
  }
  return out;
}

/** Every group's width divided by `divisor`, keyed by group id (for withWidths). */
export const narrowedWidths = (groups: ChannelGroup[], divisor: number) =>
  new Map(groups.map((group) => [group.id, narrow(group.size, divisor)]));

/** narrowSpec of a pruned spec (with channel selections) would have to invent which channels stay. */
export function prunedNarrowError(family: string): SpecError {
  return new SpecError([`selections: narrowSpec (widths.ts) narrows unpruned ${family}s only; narrow the unpruned ` +
    'spec, then prune the narrow copy']);
}

/** All channels of a layer, in order: the selection of a layer that has not been pruned. */
export const allChannels = (count: number) => Array.from({ length: count }, (_, channel) => channel);

/**
 * The fields of how a model starts, which several families share (`convBias`, `bnGamma`, `convInit`); a family that
 * applies only some names them in `applies`, and the others are refused rather than ignored.
 */
export function initProblems(spec: Record<string, unknown>,
  applies: ReadonlyArray<'convBias' | 'bnGamma' | 'convInit'> = ['convBias', 'bnGamma', 'convInit']): string[] {
  const problems: string[] = [];
  for (const field of (['convBias', 'bnGamma', 'convInit'] as const).filter((f) => !applies.includes(f))) {
    if (spec[field] !== undefined) problems.push(`${field}: this family does not have it; leave it out`);
  }
  if (spec.convBias !== undefined && typeof spec.convBias !== 'boolean') {
    problems.push(`convBias: ${JSON.stringify(spec.convBias)}; use true (convs with a bias) or omit it`);
  }
  const gamma = spec.bnGamma;
  if (gamma !== undefined && (typeof gamma !== 'number' || !Number.isFinite(gamma) || gamma <= 0)) {
    problems.push(`bnGamma: ${JSON.stringify(gamma)}; give the initial BN scale, a number > 0 (0.5 or 1)`);
  }
  if (spec.convInit !== undefined && spec.convInit !== 'fan-in' && spec.convInit !== 'fan-out') {
    problems.push(`convInit: ${JSON.stringify(spec.convInit)}; use "fan-in" or "fan-out" (the default)`);
  }
  return problems;
}
