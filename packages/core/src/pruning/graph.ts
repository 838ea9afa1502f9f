import type { ChannelGroup, TiedChannels } from '../models/channels';
import { familyOf, type ArchSpec } from '../models/registry';

export type { ChannelGroup, ChannelMember, MemberKind, TiedChannels } from '../models/channels';

/** Every prunable channel group of a spec; each family lists its own (models/<family>.ts). */
export function channelGroups(spec: ArchSpec): ChannelGroup[] {
  return familyOf(spec).channelGroups(spec);
}

/** The spec with the given groups narrowed to new widths. */
export function withWidths(spec: ArchSpec, widths: Map<string, number>): ArchSpec {
  if (widths.size === 0) return spec;
  return familyOf(spec).withWidths(spec, widths);
}

/** The channels residual additions tie (TiedChannels): not prunable groups; pruneChannels refuses them. */
export function residualTies(spec: ArchSpec): TiedChannels[] {
  return familyOf(spec).residualTies(spec);
}
