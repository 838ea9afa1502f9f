import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initBackend, shutdownBackend } from '../backend';
import { channelGroups, residualTies, type ChannelGroup, type ChannelMember } from './graph';
import { shapesOnly } from '../models/layers';
import { buildModel, namedSpec, type ArchSpec } from '../spec';
import { pruneChannels } from './surgery';
import { narrowSpec } from '../widths';
import { WEIGHT_LEVEL_FORMS } from '../test-util/folder-forms';

beforeAll(async () => { await initBackend('cpu'); });
afterAll(() => shutdownBackend());

/** The length of the axis a member indexes, read off the built model. */
function axisLength(model: tf.LayersModel, m: ChannelMember): number {
  const w = model.getLayer(m.layer).getWeights()[0].shape as number[];
  switch (m.kind) {
    case 'conv-out': case 'select-out': return w[3];
    case 'conv-in': return w[2];
    case 'bn': return w[0];
    case 'dense-in': return w[0] / (m.repeat ?? 1);
    case 'dense-out': return w[1];
  }
}

describe.each([
  'vgg16', 'resnet56', 'preresnet164', 'preresnet110-wl', 'densenet40', 'resnet18-imagenet', 'resnet50-imagenet', 'vgg11-imagenet',
])('channel graph of %s', (name) => {
  it('every member of every group and residual tie indexes an axis of the group\'s size in the built model', () => {
    const spec = (WEIGHT_LEVEL_FORMS[name]?.() ?? namedSpec(name)) as ArchSpec;
    const model = shapesOnly(() => buildModel(spec, 0)); // shapes are all this reads
    const all = [...channelGroups(spec), ...residualTies(spec)];
    expect(all.length).toBeGreaterThan(0);
    for (const g of all) {
      // Members of a channel selection's group hold the selected channels only (by position).
      const selection = (g as ChannelGroup).selection;
      const want = selection ? selection.current.length : g.size;
      for (const m of g.members) expect([g.id, m.layer, m.kind, axisLength(model, m)]).toEqual([g.id, m.layer, m.kind, want]);
    }
    // Without concatenations, every trainable layer's output channels belong to a group or a residual tie
    // (the class layer aside). DenseNet's concatenated channels are not modelled: slimming prunes them
    // through the selections.
    if (spec.arch !== 'densenet') {
      const outputs = new Set(all.flatMap((g) => g.members.filter((m) => m.kind.endsWith('out') || m.kind === 'bn').map((m) => m.layer)));
      const uncovered = model.layers.filter((l) => l.getWeights().length > 0 && l.trainable && !outputs.has(l.name)).map((l) => l.name);
      expect(uncovered.filter((n) => !['fc', 'classifier', 'classifier.3', 'fc3'].includes(n))).toEqual([]);
    }
    model.dispose();
  });
});

const NARROWED = ['preresnet164', 'densenet40', 'resnet56', 'vgg11-imagenet'];

describe.each(NARROWED)('channel graph of %s ÷8 (narrowSpec)', (name) => {
  it('every member of every group and residual tie indexes an axis of the group\'s size', () => {
    const spec = narrowSpec(WEIGHT_LEVEL_FORMS[name]?.() ?? namedSpec(name), 8);
    const model = shapesOnly(() => buildModel(spec, 0)); // shapes are all this reads
    for (const group of [...channelGroups(spec), ...residualTies(spec)]) {
      const want = (group as ChannelGroup).selection?.current.length ?? group.size;
      for (const member of group.members) {
        expect([group.id, member.layer, axisLength(model, member)]).toEqual([group.id, member.layer, want]);
      }
    }
    model.dispose();
  });
});

describe('residual ties', () => {
  it('the CIFAR ResNet-56 streams are 16, 32 and 64 channels wide and cannot be pruned alone', () => {
    const spec = namedSpec('resnet56');
    expect(residualTies(spec).map((t) => [t.id, t.size])).toEqual([['stage1', 16], ['stage2', 32], ['stage3', 64]]);
    const model = buildModel(spec);
    expect(() => pruneChannels(model, spec, { stage2: [0, 1] })).toThrow(/'stage2' is tied by residual additions/);
  });
});
