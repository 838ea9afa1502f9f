import { describe, expect, it } from 'vitest';
import { experimentRecipes } from './experiment/recipes';
import { PROFILES, profileLabel, withOverrides } from './profiles';

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
});
