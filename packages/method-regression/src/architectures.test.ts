import {
  countSpec, imagenetScratchBRecipe, initBackend, namedSpec, shutdownBackend, validateSpec, type Counts,
  type ImageNetVggSpec,
} from '@rethink-prune/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REGRESSION_VARIANTS, VGG16_5X } from './variants';

beforeAll(async () => { await initBackend('cpu'); });
afterAll(() => shutdownBackend());

/**
 * Printed by the seed itself. Command: copy imagenet/regression-pruning/{compute_flops.py, models/*}
 * unchanged to /tmp/regression-flops, stub `torchvision` with an empty package there, and run
 *   cd /tmp/regression-flops && PYTHONPATH=models /usr/bin/python3 count.py
 * (torch 1.13, CPU; PYTHONPATH as resnet_2x.py does `from channel_selection import *`), where count.py does
 * torch.manual_seed(0), builds models.vgg_5x() then models.vgg_official() (main_B.py's `--model vgg-5x` order:
 * model, then model_ref) and prints for each
 *   params = sum(p.nelement() if p.requires_grad else 0 for p in model.parameters())  # print_model_param_nums
 *   flops = compute_flops.count_model_param_flops(model, 224)                         # as main_B.py calls it
 * The two quirks of that counter, measured in the same run (as in method-thinet's architectures.test.ts):
 * - `float32`: it returns a float32 tensor (each conv's (weight != 0).float().sum() · 2 · H·W, summed in
 *   float32), off by up to ~1 500. `exact`: the same script with `.double()` for `.float()` in conv_hook.
 * - It counts non-zero conv weights only, and kaiming_normal leaves a few weights exactly 0 (about 1 in 2^24):
 *   `zeroWeightFlops` = Σ over convs of 2 · (weights == 0) · H_out · W_out (a forward hook on each Conv2d);
 *   on VGG-16 here 1 568 = 2 · 28²: one zero weight in a conv4_x layer.
 * So the dense count, which countSpec gives, is exact + zeroWeightFlops.
 */
interface SeedCount { params: number; float32: number; exact: number; zeroWeightFlops: number }
const SEED_COUNTS: Record<'vgg16-5x' | 'vgg16', SeedCount> = {
  'vgg16-5x': { params: 130_879_294, float32: 7_043_491_840, exact: 7_043_492_200, zeroWeightFlops: 0 },
  'vgg16': { params: 138_357_544, float32: 30_973_759_488, exact: 30_973_760_968, zeroWeightFlops: 1_568 },
};

/** Our count of each, memoised (both are 130M+-parameter models to build). */
const counted = new Map<keyof typeof SEED_COUNTS, Counts>();
function countOf(name: keyof typeof SEED_COUNTS): Counts {
  if (!counted.has(name)) {
    counted.set(name, countSpec(name === 'vgg16' ? namedSpec('vgg16-imagenet', 'imagenet') : VGG16_5X));
  }
  return counted.get(name)!;
}

describe('VGG-16-5x: params and FLOPs as the seed\'s compute_flops.py counts them', () => {
  it.each(['vgg16-5x', 'vgg16'] as const)('%s: countSpec = the seed\'s dense sums', (name) => {
    const seed = SEED_COUNTS[name];
    expect(countOf(name)).toEqual({ params: seed.params, flops: seed.exact + seed.zeroWeightFlops });
    // Against what the seed's function returns as is: within its float32 rounding and zero weights.
    expect(Math.abs(countOf(name).flops - seed.float32) / seed.float32).toBeLessThan(2e-6);
  });

  it('VGG-16-5x is vgg_5x.py: the reference VGG-16 with only conv1_1 … conv4_3 narrowed', () => {
    const seedCfg5x = [24, 22, 'M', 41, 51, 'M', 108, 89, 111, 'M', 184, 276, 228, 'M', 512, 512, 512, 'M'];
    expect((VGG16_5X as ImageNetVggSpec).cfg).toEqual(seedCfg5x);
    const reference = namedSpec('vgg16-imagenet', 'imagenet');
    expect({ ...VGG16_5X, cfg: undefined }).toEqual({ ...reference, cfg: undefined });
    expect(validateSpec(VGG16_5X).dataset).toBe('imagenet');
    expect(REGRESSION_VARIANTS['vgg16-5x'].architecture).toBe(VGG16_5X);
  });
});

describe('Scratch-B of VGG-16-5x (main_B.py through core\'s imagenetScratchBRecipe)', () => {
  it('the README\'s 180 epochs, LR steps at 60 and 120', () => {
    const reference = countOf('vgg16').flops;
    const ratio = reference / countOf('vgg16-5x').flops;
    // method-facts.md §6.2: r ≈ 4.40 by the seed's counter (30.97G / 7.04G).
    expect(Math.abs(ratio - 4.40) / 4.40).toBeLessThan(0.005);
    const recipe = imagenetScratchBRecipe(90, reference, countOf('vgg16-5x').flops);
    // Seed README: "180 epochs" for VGG-5x; main_B.py: r ≥ 2 → 180 epochs, step_size = 60.
    expect(recipe.epochs).toBe(180);
    expect(recipe.milestones).toEqual([60, 120]);
  });
});
