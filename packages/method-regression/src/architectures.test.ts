import * as tf from '@tensorflow/tfjs';
import {
  buildModel, countSpec, imagenetScratchBRecipe, initBackend, namedSpec, shutdownBackend, validateSpec, type Counts,
  type ImageNetResNetSpec, type ImageNetVggSpec,
} from '@rethink-prune/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REGRESSION_VARIANTS, RESNET50_2X, VGG16_5X } from './variants';

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

/**
 * ResNet-50-2x against the seed, printed the same way (count.py as above, building models.resnet_2x() then
 * models.resnet50_official(), 2026-12-05): the params include the 13 120 entries of the 16 channel_selection
 * `indexes` (nn.Parameters, which print_model_param_nums counts), and the FLOPs are float32 sums of non-zero weights.
 * Its ratio gave main_B.py's epochs: 8 213 618 176 / 5 493 782 016 = 1.4951 → int(90 × 1.4951) = 134.
 */
const SEED_2X = { params: 19_710_544, flops: 5_493_782_016, selectionParams: 13_120, keptPerBlock:
  [35, 101, 97, 144, 205, 198, 288, 278, 418, 407, 423, 412, 595, 606, 1222, 1147] };
const SEED_RESNET50_OFFICIAL = { params: 25_560_872, flops: 8_213_618_176 };

describe('ResNet-50-2x: the seed\'s resnet_2x.py, counted as its compute_flops.py counts it', () => {
  const counts = new Map<string, Counts>();
  const countOf2x = (name: 'resnet50-2x' | 'resnet50-official') => {
    if (!counts.has(name)) {
      counts.set(name, countSpec(name === 'resnet50-2x' ? RESNET50_2X : namedSpec('resnet50-official', 'imagenet')));
    }
    return counts.get(name)!;
  };

  it('has the seed\'s per-block input selections and widths, and a selection is a valid, trainable spec', () => {
    const spec = validateSpec(RESNET50_2X) as ImageNetResNetSpec;
    expect(Object.values(spec.inputSelections!).map((kept) => kept.length)).toEqual(SEED_2X.keptPerBlock);
    expect(REGRESSION_VARIANTS['resnet50-2x']).toMatchObject({ base: 'resnet50-official', architecture: RESNET50_2X });
    expect(() => validateSpec({ ...spec, inputSelections: { 'layer1.0': [3, 1] } })).toThrow(/inputSelections\.layer1\.0/);
    expect(() => validateSpec({ ...spec, inputSelections: { 'layer9.0': [1] } })).toThrow(/no such block/);
  });

  it.each([
    ['resnet50-2x', SEED_2X.params, SEED_2X.flops],
    ['resnet50-official', SEED_RESNET50_OFFICIAL.params, SEED_RESNET50_OFFICIAL.flops],
  ] as const)('%s: params equal the seed\'s, FLOPs within its float32 rounding', (name, params, flops) => {
    expect(countOf2x(name).params).toBe(params);
    expect(Math.abs(countOf2x(name).flops - flops) / flops).toBeLessThan(2e-6);
  }, 120_000);

  it('Scratch-B: 134 epochs by the seed\'s own ratio (its README says 132), LR steps every third', () => {
    const recipe = imagenetScratchBRecipe(90, countOf2x('resnet50-official').flops, countOf2x('resnet50-2x').flops);
    expect(recipe.epochs).toBe(134);
    expect(recipe.milestones).toEqual([44, 88, 132]);
  }, 120_000);

  it('a block with a selection reads only its kept input channels (the selection copies them in order)', async () => {
    const small = { arch: 'resnet-imagenet', dataset: 'imagenet', depth: 50, planes: [4, 4, 4, 4],
      cfg: new Array(32).fill(2), inputSelections: { 'layer1.1': [0, 2, 3] } } as ImageNetResNetSpec;
    const model = buildModel(small, 1);
    const select = model.getLayer('layer1.1.select');
    // layer1.1 reads stage 1's 4·4 = 16 channels; channel c of the two pixels holds c and 100 + c.
    const x = tf.tensor4d([...Array.from({ length: 16 }, (_, c) => c), ...Array.from({ length: 16 }, (_, c) => 100 + c)],
      [1, 1, 2, 16]);
    const y = select.apply(x) as tf.Tensor;
    expect(Array.from(y.dataSync())).toEqual([0, 2, 3, 100, 102, 103]);
    expect(model.getLayer('layer1.1.conv1').getWeights()[0].shape).toEqual([1, 1, 3, 2]);
    model.dispose();
  });
});
