import { describe, expect, it } from 'vitest';
import { countSpec } from './counting';
import { channelGroups } from './graph';
import { namedSpec, validateSpec } from './spec';
import { narrow, narrowSpec } from './widths';

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

  it('refuses families without a narrow form, saying which', () => {
    expect(() => narrowSpec(namedSpec('densenet40', 'cifar10'), 4)).toThrow(/densenet has no narrow variant/);
  });
});
