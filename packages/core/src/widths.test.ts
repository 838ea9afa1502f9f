import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initBackend, shutdownBackend } from './backend';
import { countModel, countSpec } from './pruning/counting';
import { SpecError } from './errors';
import { channelGroups } from './pruning/graph';
import { defaultPreResNetCfg } from './models/preresnet';
import { shapesOnly } from './models/layers';
import {
  buildModel, namedSpec, validateSpec, type ArchSpec, type DenseNetSpec, type ImageNetVggSpec, type PreResNetSpec,
} from './spec';
import { narrow, narrowSpec } from './widths';
import { WEIGHT_LEVEL_FORMS } from './test-util/folder-forms';

beforeAll(async () => { await initBackend('cpu'); });
afterAll(() => shutdownBackend());

describe('narrowSpec', () => {
  it.each(['vgg16', 'resnet56', 'resnet34-imagenet'])('%s ÷4: every conv group narrowed by the one rounding rule, still a valid spec', (name) => {
    const spec = namedSpec(name, name.endsWith('imagenet') ? 'imagenet' : 'cifar10');
    const small = narrowSpec(spec, 4);
    expect(() => validateSpec(JSON.parse(JSON.stringify(small)))).not.toThrow();
    const before = new Map(channelGroups(spec).map((g) => [g.id, g.size]));
    const after = channelGroups(small);
    expect(after.map((g) => g.id)).toEqual([...before.keys()]);
    // The l1-norm VGG's hidden fc (classifier.0, 512) is fixed by its head, not by the spec's widths.
    for (const g of after.filter((x) => !x.id.startsWith('classifier'))) expect(g.size).toBe(narrow(before.get(g.id)!, 4));
    // Roughly 1/16 of the compute of the convs (the fc and the first conv's input shrink less).
    const ratio = countSpec(small).flops / countSpec(spec).flops;
    expect(ratio).toBeGreaterThan(1 / 20);
    expect(ratio).toBeLessThan(1 / 12);
    expect(narrowSpec(spec, 1)).toBe(spec);
  });

  it('narrows the ImageNet ResNet stages and stem through `planes`', () => {
    const small = narrowSpec(namedSpec('resnet34-imagenet', 'imagenet'), 16);
    expect(small.arch === 'resnet-imagenet' && small.planes).toEqual([4, 8, 16, 32]);
  });

  it('refuses a pruned PreResNet or DenseNet (channel selections), naming the field and the fix', () => {
    const preresnet = namedSpec('preresnet20') as PreResNetSpec;
    const selections = { 'layer1.0.select': [0, 1, 2, 3, 4, 5, 6, 9] };
    const pruned = validateSpec({ ...preresnet, cfg: [8, ...preresnet.cfg.slice(1)], selections });
    expect(() => narrowSpec(pruned, 4)).toThrow(/selections: .*narrow the unpruned spec, then prune/);
    const densenet = namedSpec('densenet40') as DenseNetSpec;
    expect(() => narrowSpec({ ...densenet, selections: {} }, 4)).toThrow(SpecError);
  });

  it('PreResNet-164 ÷4: planes [4, 8, 16], stem 4, outputs 16, 32, 64; weight-level keeps the default cfg', () => {
    const small = narrowSpec(namedSpec('preresnet164'), 4) as PreResNetSpec;
    expect(small.planes).toEqual([4, 8, 16]);
    // Block 1 reads the stem (4) and has planes 4; block 2 reads 4·4; the final selection keeps all 4·16.
    expect(small.cfg.slice(0, 6)).toEqual([4, 4, 4, 16, 4, 4]);
    expect(small.cfg[small.cfg.length - 1]).toBe(64);
    const weightLevel = narrowSpec(WEIGHT_LEVEL_FORMS['preresnet110-wl'](), 8) as PreResNetSpec;
    expect(weightLevel.planes).toEqual([2, 4, 8]);
    expect(weightLevel.cfg).toEqual(defaultPreResNetCfg(110, [2, 4, 8]));
  });

  it('DenseNet ÷4 and ÷8 narrow the growth rate 12 to 3 and 2 (1.5 rounds up); BC keeps compression', () => {
    const slim = narrowSpec(namedSpec('densenet40'), 4) as DenseNetSpec;
    expect(slim.growthRate).toBe(3);
    // Stem 2·3 = 6, then +3 per layer: the first dense block reads 6, 9, ..., 39; transition 1 reads 42.
    expect(slim.cfg!.slice(0, 13)).toEqual([6, 9, 12, 15, 18, 21, 24, 27, 30, 33, 36, 39, 42]);
    const bc = narrowSpec(WEIGHT_LEVEL_FORMS['densenet-bc100'](), 8) as DenseNetSpec;
    expect([bc.growthRate, bc.compressionRate, bc.bottleneck, bc.cfg]).toEqual([2, 2, true, undefined]);
  });

  it('ImageNet VGG ÷8 narrows the cfg and both hidden fc layers', () => {
    const small = narrowSpec(namedSpec('vgg11-imagenet'), 8) as ImageNetVggSpec;
    expect(small.cfg).toEqual([8, 'M', 16, 'M', 32, 32, 'M', 64, 64, 'M', 64, 64, 'M']);
    expect(small.classifier).toEqual([512, 512]);
  });
});

/** Counts and layer names of a spec's model (built once; the ImageNet VGGs hold 130M weights). */
function describeModel(spec: ArchSpec) {
  // Names and counts read shapes only: zero initialisers build VGG-16-ImageNet's 138M weights in a fraction of the time.
  const model = shapesOnly(() => buildModel(spec, 0));
  try {
    return { counts: countModel(spec, model), layers: model.layers.map((layer) => layer.name) };
  } finally {
    model.dispose();
  }
}

// FLOPs scale with (width ratio)² for convs and fc layers (BN, ReLU and pooling linearly: a few percent).
// DenseNet's growth rate 12 narrows to 3 (÷4) and 2 (÷8): ratios (3/12)² = 1/16 and (2/12)² = 1/36.
const EXPECTED_FLOPS_RATIO: Record<string, Record<number, number>> = {
  densenet: { 4: 1 / 16, 8: 1 / 36 },
};

const NEWLY_NARROWED = [
  'preresnet164', 'preresnet110-wl', 'densenet40', 'densenet40-wl', 'densenet-bc100',
  'vgg11-imagenet', 'vgg16-imagenet',
];

describe.each(NEWLY_NARROWED)('narrow copies of %s', (name) => {
  it('÷4 and ÷8 build, keep depth and layer names, and have about 1/divisor² of the FLOPs (1.5×)', () => {
    const spec = WEIGHT_LEVEL_FORMS[name]?.() ?? namedSpec(name);
    const full = describeModel(spec);
    for (const divisor of [4, 8]) {
      const small = narrowSpec(spec, divisor);
      expect(validateSpec(JSON.parse(JSON.stringify(small)))).toEqual(small);
      const depthOf = (s: ArchSpec) => ('depth' in s ? s.depth : undefined);
      expect([small.arch, depthOf(small)]).toEqual([spec.arch, depthOf(spec)]);
      const narrowModel = describeModel(small);
      expect(narrowModel.layers).toEqual(full.layers);
      const want = EXPECTED_FLOPS_RATIO[spec.arch]?.[divisor] ?? 1 / divisor ** 2;
      const ratio = narrowModel.counts.flops / full.counts.flops;
      expect(ratio / want).toBeGreaterThan(1 / 1.5);
      expect(ratio / want).toBeLessThan(1.5);
    }
  });
});
