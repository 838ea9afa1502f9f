import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initBackend, shutdownBackend } from '../backend';
import { buildModel } from '../spec';
import type { VggSpec } from '../models/vgg';
import { pruneLayerByLayer, reconstructableLayers } from './reconstruction';

beforeAll(async () => { await initBackend('cpu'); });
afterAll(() => shutdownBackend());

describe('pruneLayerByLayer with fine-tuning between layers', () => {
  it('hands `between` the network pruned so far and masks that zero each removed channel\'s slice, not after the last', async () => {
    const spec: VggSpec = { arch: 'vgg', dataset: 'cifar10', cfg: [4, 4, 'M', 6, 6], classifier: 'linear' };
    const model = buildModel(spec, 3);
    const layers = reconstructableLayers(spec).slice(0, 3);
    expect(layers.map((l) => [l.group.id, l.next])).toEqual([
      ['features.0.conv', 'features.1.conv'], ['features.1.conv', 'features.2.conv'], ['features.2.conv', 'features.3.conv']]);
    const calls: Array<{ after: string; masks: Record<string, number[]> }> = [];
    // Keep channels 0 and 2 of every layer; `between` records the masks' input-channel pattern of each next kernel.
    const { keep, model: work } = await pruneLayerByLayer(model, spec, layers, () => [0, 2], async (net, masks, done) => {
      expect(net.getLayer('features.1.conv')).toBeDefined();
      calls.push({ after: done.group.id, masks: Object.fromEntries([...masks].map(([name, mask]) => {
        const [kh, kw, cin] = mask.shape;
        // One output filter's input channels at one tap: 1 kept, 0 removed.
        return [name, Array.from(mask.slice([kh - 1, kw - 1, 0, 0], [1, 1, cin, 1]).dataSync())];
      })) });
    });
    expect(keep).toEqual({ 'features.0.conv': [0, 2], 'features.1.conv': [0, 2], 'features.2.conv': [0, 2] });
    expect(calls).toEqual([
      { after: 'features.0.conv', masks: { 'features.1.conv/kernel': [1, 0, 1, 0] } },
      { after: 'features.1.conv', masks: { 'features.1.conv/kernel': [1, 0, 1, 0], 'features.2.conv/kernel': [1, 0, 1, 0] } },
    ]);
    model.dispose();
    work.dispose();
  });
});
