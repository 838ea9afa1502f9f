import type * as tf from '@tensorflow/tfjs';

/**
 * The channel graph of any tfjs LayersModel (Sequential or functional), traced from its layers and inbound nodes
 * instead of a spec: groups of channels that must be removed together. Conv2D, SeparableConv2D and Dense start a
 * group with their filters or units; BatchNormalization, element-wise layers, pooling and padding carry it;
 * DepthwiseConv2D carries it through its per-channel kernel; Add / Multiply / Subtract / Maximum / Average tie the
 * groups of their inputs; Concatenate places them side by side; Flatten → Dense reads each channel at every
 * position (channels last: feature index = position × channels + channel). Channels that reach a model output, the
 * model's input channels, and those a barrier layer reads are fixed: never pruned.
 */

/** Where a member's channels live in one layer: an axis role and the first index there. */
export type TracedRole =
  | 'out' // Conv2D / SeparableConv2D / Dense output: kernel's last axis and bias
  | 'in' // Conv2D kernel axis 2; SeparableConv2D depthwise and pointwise kernels axis 2; Dense kernel axis 0 (× repeat)
  | 'bn' // BatchNormalization γ, β, moving mean and variance
  | 'depthwise'; // DepthwiseConv2D kernel axis 2 and bias: input and output channels at once

export interface TracedMember {
  layer: string;
  role: TracedRole;
  /** The member covers channels [offset, offset + length) of its group … */
  offset: number;
  length: number;
  /** … at indices [at, at + length) of the layer's axis; a flattened input repeats them every `stride` features. */
  at: number;
  repeat: number;
  stride: number;
}

export interface TracedGroup {
  /** The layer whose filters or units define the channels (the first, for tied groups). */
  id: string;
  size: number;
  members: TracedMember[];
  /** Why the group cannot be pruned (a model output, the input, a barrier), or undefined where it can. */
  fixed?: string;
}

export class UnsupportedLayerError extends Error {
  constructor(readonly className: string, readonly layerName: string) {
    super(`layer '${layerName}' is a ${className}, which the channel tracer does not know; supported: ` +
      `${[...PRODUCERS, ...CARRIERS, ...TIES, 'Concatenate', 'Flatten', 'InputLayer'].join(', ')}. ` +
      'Pass { barriers: true } to keep the channels around it instead');
    this.name = 'UnsupportedLayerError';
  }
}

const PRODUCERS = ['Conv2D', 'SeparableConv2D', 'Dense'];
/** Layers whose output channels are their input's, one for one. */
const CARRIERS = ['BatchNormalization', 'Activation', 'ReLU', 'LeakyReLU', 'ELU', 'ThresholdedReLU',
  'Dropout', 'SpatialDropout2D', 'GaussianNoise', 'GaussianDropout', 'ZeroPadding2D', 'Cropping2D', 'UpSampling2D',
  'MaxPooling2D', 'AveragePooling2D', 'GlobalAveragePooling2D', 'GlobalMaxPooling2D', 'DepthwiseConv2D'];
const TIES = ['Add', 'Multiply', 'Subtract', 'Maximum', 'Minimum', 'Average'];

/** The channel axis of a tensor, as consecutive ranges of groups; `flat`: flattened from this many positions. */
interface Channels { segments: Array<{ group: number; offset: number; length: number }>; positions: number }

export interface TraceOptions {
  /** Treat unknown layers as barriers (their input and output channels stay) instead of an error. */
  barriers?: boolean;
}

export function traceModel(model: tf.LayersModel, options: TraceOptions = {}): TracedGroup[] {
  const groups: TracedGroup[] = [];
  const parent: number[] = [];
  const root = (g: number): number => (parent[g] === g ? g : (parent[g] = root(parent[g])));
  const newGroup = (id: string, size: number, fixed?: string) => {
    groups.push({ id, size, members: [], ...(fixed ? { fixed } : {}) });
    parent.push(groups.length - 1);
    return groups.length - 1;
  };
  const fix = (c: Channels, why: string) => {
    for (const s of c.segments) groups[root(s.group)].fixed ??= why;
  };
  const width = (c: Channels) => c.segments.reduce((a, s) => a + s.length, 0);
  const addMembers = (layer: string, role: TracedRole, c: Channels) => {
    let at = 0;
    for (const s of c.segments) {
      groups[s.group].members.push({ layer, role, offset: s.offset, length: s.length, at, repeat: c.positions,
        stride: width(c) });
      at += s.length;
    }
  };
  const channels = new Map<tf.SymbolicTensor, Channels>();
  const whole = (group: number, size: number): Channels => ({ segments: [{ group, offset: 0, length: size }], positions: 1 });
  /** Inputs fixed, output a new fixed group: a layer whose output channels mix its input channels. */
  const wall = (inputs: Channels[], id: string, size: number, why: string): Channels => {
    inputs.forEach((c) => fix(c, why));
    return whole(newGroup(id, size, why), size);
  };
  /** A layer's first traced use: a reused layer (shared weights) ties its later inputs to these. */
  const firstUse = new Map<string, { inputs: Channels[]; result: Channels }>();

  for (const input of model.inputs) {
    const size = input.shape[input.shape.length - 1] as number;
    channels.set(input, whole(newGroup(`input:${input.name}`, size, 'the model input'), size));
  }
  for (const layer of model.layers) {
    const className = layer.getClassName();
    if (className === 'InputLayer') continue;
    for (const node of (layer as unknown as { inboundNodes: Array<{ inputTensors: tf.SymbolicTensor[];
      outputTensors: tf.SymbolicTensor[] }> }).inboundNodes) {
      // A node of another model that shares this layer reads tensors this model never makes.
      if (!node.inputTensors.every((t) => channels.has(t))) continue;
      const inputs = node.inputTensors.map((t) => channels.get(t)!);
      const output = node.outputTensors[0];
      const outSize = output.shape[output.shape.length - 1] as number;
      const activation = (layer.getConfig() as { activation?: string }).activation;
      let result: Channels;
      const first = firstUse.get(layer.name);
      if (first) {
        // The same weights at a second place: its inputs must lose the same channels as the first use's.
        inputs.forEach((c, i) => tie(c, first.inputs[i]));
        result = first.result;
      } else if (className === 'Softmax' || (className === 'Activation' && activation === 'softmax')) {
        result = wall(inputs, layer.name, outSize, `${layer.name} normalises over its channels`);
      } else if (PRODUCERS.includes(className)) {
        const config = layer.getConfig() as { groups?: number; depthMultiplier?: number };
        if ((config.groups ?? 1) !== 1 || (config.depthMultiplier ?? 1) !== 1) {
          fix(inputs[0], `${layer.name} is grouped or multiplies depth`);
          result = whole(newGroup(layer.name, outSize, `${layer.name} is grouped or multiplies depth`), outSize);
        } else {
          if (className !== 'Dense' && inputs[0].positions !== 1) throw new Error(`trace: ${layer.name} reads flat features`);
          addMembers(layer.name, 'in', inputs[0]);
          const group = newGroup(layer.name, outSize);
          result = whole(group, outSize);
          addMembers(layer.name, 'out', result);
        }
      } else if (CARRIERS.includes(className)) {
        result = inputs[0];
        if (className === 'BatchNormalization') addMembers(layer.name, 'bn', result);
        if (className === 'DepthwiseConv2D') {
          if (((layer.getConfig() as { depthMultiplier?: number }).depthMultiplier ?? 1) !== 1) {
            fix(result, `${layer.name} multiplies depth`);
            result = whole(newGroup(layer.name, outSize, `${layer.name} multiplies depth`), outSize);
          } else {
            addMembers(layer.name, 'depthwise', result);
          }
        }
      } else if (TIES.includes(className)) {
        result = inputs[0];
        for (const other of inputs.slice(1)) tie(other, result);
      } else if (className === 'Concatenate') {
        const axis = (layer.getConfig() as { axis?: number }).axis ?? -1;
        if (axis !== -1 && axis !== output.shape.length - 1) {
          result = wall(inputs, layer.name, outSize, `${layer.name} concatenates along axis ${axis}`);
        } else if (inputs.some((c) => c.positions !== 1)) {
          result = wall(inputs, layer.name, outSize, `${layer.name} concatenates flattened features`);
        } else {
          result = { segments: inputs.flatMap((c) => c.segments), positions: 1 };
        }
      } else if (className === 'Flatten') {
        const shape = node.inputTensors[0].shape;
        const positions = shape.slice(1, -1).reduce((a: number, d) => a * (d as number), 1);
        result = { segments: inputs[0].segments, positions: inputs[0].positions * positions };
      } else if (options.barriers) {
        result = wall(inputs, layer.name, outSize, `barrier ${layer.name} (${className})`);
      } else {
        throw new UnsupportedLayerError(className, layer.name);
      }
      if (width(result) * result.positions !== outSize) {
        throw new Error(`trace: ${layer.name} (${className}) has ${outSize} output features, traced ${width(result)} ` +
          `channels × ${result.positions} positions`);
      }
      if (!first) firstUse.set(layer.name, { inputs, result });
      for (const t of node.outputTensors) channels.set(t, result);
    }
  }
  for (const output of model.outputs) fix(channels.get(output)!, 'a model output');

  /** Ties two tensors' channels one for one (residual adds): same ranges merge groups; other layouts fix both. */
  function tie(a: Channels, b: Channels): void {
    const same = a.segments.length === b.segments.length && a.positions === b.positions &&
      a.segments.every((s, i) => s.length === b.segments[i].length && s.offset === b.segments[i].offset &&
        groups[s.group].size === groups[b.segments[i].group].size && s.length === groups[s.group].size);
    if (!same) {
      fix(a, 'an element-wise layer joins differently grouped channels');
      fix(b, 'an element-wise layer joins differently grouped channels');
      return;
    }
    a.segments.forEach((s, i) => {
      const [x, y] = [root(s.group), root(b.segments[i].group)];
      if (x !== y) parent[y] = x;
    });
  }

  // One group per root: members of tied groups together, fixed if any part is.
  const merged = new Map<number, TracedGroup>();
  groups.forEach((g, i) => {
    const r = root(i);
    const into = merged.get(r) ?? { id: groups[r].id, size: groups[r].size, members: [] as TracedMember[] };
    into.members.push(...g.members);
    const fixed = g.fixed ?? groups[r].fixed ?? into.fixed;
    if (fixed) into.fixed = fixed;
    merged.set(r, into);
  });
  return [...merged.values()].filter((g) => g.members.length > 0);
}
