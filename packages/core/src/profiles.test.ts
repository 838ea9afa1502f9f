import { describe, expect, it } from 'vitest';
import { experimentRecipes } from './experiment/recipes';
import { experimentSpecs } from './experiment/run';
import { PROFILES, profileLabel, widthDivisorOf, withOverrides, type Profile } from './profiles';

describe('profile overrides', () => {
  it('change only the named fields, and the label says which', () => {
    const profile = withOverrides(PROFILES.small, { epochs: 20, lr: '0.02' });
    expect(profile).toMatchObject({ name: 'small', epochs: 20, lr: 0.02, finetuneEpochs: 10, widthDivisor: 4 });
    expect(profileLabel(profile)).toBe('small epochs=20 lr=0.02');
    expect(profileLabel(PROFILES.small)).toBe('small');
    // A second layer of overrides (flags over a file) keeps the first's fields.
    expect(profileLabel(withOverrides(profile, { batchSize: 32 }))).toBe('small epochs=20 lr=0.02 batchSize=32');
  });

  it('turn off the seed\'s own per-method recipes once a recipe field changes (paper --epochs 20 trains 20 epochs)', () => {
    expect(PROFILES.paper.seedRecipes).toBe(true);
    expect(withOverrides(PROFILES.paper, { epochs: 20 })).toMatchObject({ seedRecipes: false, fullGrid: true });
    expect(withOverrides(PROFILES.paper, { trainLimit: 5000 }).seedRecipes).toBe(true);
  });

  it('reach the recipes: the seed CIFAR schedule in shape, 50% / 75% steps of the new length', () => {
    const recipes = experimentRecipes(withOverrides(PROFILES.small, { epochs: 20, batchSize: 32 }), 'cifar10');
    expect(recipes.baseline).toMatchObject({ epochs: 20, lr: 0.05, batchSize: 32, milestones: [10, 15] });
    expect(recipes.finetune).toMatchObject({ epochs: 10, lr: 0.001, batchSize: 32, milestones: [] });
    // Scratch-B: int(20 × 3) epochs for a third of the FLOPs, steps at int(50%) and int(75%).
    expect(recipes.scratchB(300, 100)).toMatchObject({ epochs: 60, milestones: [30, 45], lr: 0.05 });
  });

  it.each([
    [{ epoch: 3 }, /unknown profile field 'epoch'/],
    [{ epochs: 0 }, /epochs 0: give a whole number ≥ 1/],
    [{ trainLimit: 10.5 }, /trainLimit 10.5: give a whole number ≥ 1/],
    [{ lr: 'fast' }, /lr fast: give a positive number/],
    [{ lr: true }, /lr true: give a positive number/],
  ])('refuse %j', (fields, message) => {
    expect(() => withOverrides(PROFILES.quick, fields)).toThrow(message);
  });

  it('narrow a family by its own divisor until the user sets one for all', () => {
    const profile: Profile = { ...PROFILES.small, widthDivisor: 4, familyWidthDivisors: { resnet: 2 } };
    expect([widthDivisorOf(profile, 'resnet'), widthDivisorOf(profile, 'vgg')]).toEqual([2, 4]);
    // ResNet-20's 16/32/64 channels: ÷2 under the family's divisor, ÷8 once --width-divisor 8 is given.
    const cfgOf = (p: Profile) => (experimentSpecs({ base: 'resnet20' }, 'r', 'cifar10', p).spec as { cfg: number[] }).cfg;
    expect(cfgOf(profile)).toEqual([8, 8, 8, 16, 16, 16, 32, 32, 32]);
    expect(cfgOf(withOverrides(profile, { epochs: 20 }))).toEqual([8, 8, 8, 16, 16, 16, 32, 32, 32]);
    const all8 = withOverrides(profile, { widthDivisor: 8 });
    expect(cfgOf(all8)).toEqual([2, 2, 2, 4, 4, 4, 8, 8, 8]);
    expect([widthDivisorOf(all8, 'resnet'), widthDivisorOf(all8, 'vgg')]).toEqual([8, 8]);
  });

  it('give small\'s CIFAR ResNets half their width, and its VGGs a quarter', () => {
    const cfgOf = (base: string) => (experimentSpecs({ base }, 'v', 'cifar10', PROFILES.small).spec as { cfg: unknown[] }).cfg;
    expect(cfgOf('resnet20')).toEqual([8, 8, 8, 16, 16, 16, 32, 32, 32]);
    expect(cfgOf('vgg16').slice(0, 3)).toEqual([16, 16, 'M']);
  });
});
