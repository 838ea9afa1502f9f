/**
 * The channel dependency graph of a spec: groups of tensor axes that index the same channels, so that
 * dropping channel c of a group drops it everywhere at once (a conv's filters, its BN, the next layer's
 * input slices). Structured methods produce keep-sets per group; surgery does the rest.
 */
export type MemberKind =
  | 'conv-out' // conv kernel [kh,kw,in,out] axis 3 (and bias)
  | 'conv-in' // conv kernel axis 2
  | 'bn' // γ, β, moving mean, moving variance
  | 'dense-in' // dense kernel [in,out] axis 0; the input was flattened from HWC with `repeat` positions
  | 'select-out' // a channel selection's 0/1 kernel [1,1,in,out] axis 3
  | 'dense-out'; // dense kernel axis 1 and bias

export interface ChannelMember {
  layer: string;
  kind: MemberKind;
  repeat?: number;
}

export interface ChannelGroup {
  /** Stable id: the name of the conv whose filters define the channels. */
  id: string;
  size: number;
  members: ChannelMember[];
  /** Where the width lives in the spec, so a new width is a spec edit; −1 where the spec fixes it. */
  specIndex: number;
  /**
   * For a channel selection (PreResNet, DenseNet): the group's channels are those of `bn`, of which
   * `current` are selected now; keep-sets name BN channels (a subset of `current`), members are indexed
   * by position.
   */
  selection?: { layer: string; bn: string; current: number[] };
}

/**
 * Channels tied by residual additions: every layer listed reads or writes the same channel index space, so
 * none of them can lose a channel alone. They are not prunable groups (no method of the paper removes
 * them); pruneChannels refuses them by id.
 */
export interface TiedChannels {
  id: string;
  size: number;
  members: ChannelMember[];
}
