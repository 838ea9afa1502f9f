import {
  countSpec, imagenetScratchBRecipe, initBackend, shutdownBackend, validateSpec, type Counts,
  type ImageNetResNetSpec,
} from '@rethink-prune/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  THINET_ARCHITECTURE_NAMES, THINET_ARCHITECTURES, THINET_REFERENCES, type ThiNetArchitecture,
} from './architectures';

beforeAll(async () => { await initBackend('cpu'); });
afterAll(() => shutdownBackend());

/**
 * Printed by the seed itself. Command: copy imagenet/thinet/{compute_flops.py, models/thinetconv.py,
 * models/thinetvgg.py, models/thinetresnet.py} unchanged to /tmp/thinet-flops; there, with torch 1.13 (CPU) and
 * torch.manual_seed(0), build vgg_official, thinet_conv, thinet_gap, thinet_tiny, resnet50_official, thinet30,
 * thinet50, thinet70 in this order and print for each
 *   params = sum(p.nelement() if p.requires_grad else 0 for p in model.parameters())  # print_model_param_nums
 *   flops = compute_flops.count_model_param_flops(model)                              # as main_B.py calls it
 * (torchvision, imported by compute_flops.py only for its alexnet default, was stubbed with an empty module).
 * Two quirks of that counter, measured in the same runs:
 * - `float32`: what it returns is a float32 tensor (each conv's (weight != 0).float().sum() · 2 · H·W,
 *   summed in float32), off by up to ~1 000. `exact`: the same script with `.double()` for `.float()` in
 *   conv_hook (its only change).
 * - It counts non-zero conv weights only, and kaiming_normal leaves a few weights exactly 0 (about 1 in 2^24):
 *   `zeroWeightFlops` = Σ over convs of 2 · (weights == 0) · H_out · W_out (a forward hook on each Conv2d).
 * So the dense count, which countSpec gives, is exact + zeroWeightFlops.
 */
type CountedName = ThiNetArchitecture | 'vgg16' | 'resnet50';
interface SeedCount { params: number; float32: number; exact: number; zeroWeightFlops: number }
const SEED_COUNTS: Record<CountedName, SeedCount> = {
  'vgg16': { params: 138_357_544, float32: 30_973_761_536, exact: 30_973_762_536, zeroWeightFlops: 0 },
  'thinet-conv': { params: 131_452_552, float32: 9_599_388_672, exact: 9_599_388_648, zeroWeightFlops: 0 },
  'thinet-gap': { params: 8_322_696, float32: 9_353_028_608, exact: 9_353_028_584, zeroWeightFlops: 0 },
  'thinet-tiny': { params: 1_325_368, float32: 2_017_487_872, exact: 2_017_487_848, zeroWeightFlops: 0 },
  'resnet50': { params: 25_560_872, float32: 8_213_618_176, exact: 8_213_617_956, zeroWeightFlops: 196 },
  'thinet-30': { params: 8_669_158, float32: 2_360_886_016, exact: 2_360_886_113, zeroWeightFlops: 0 },
  'thinet-50': { params: 12_385_704, float32: 3_674_383_616, exact: 3_674_383_494, zeroWeightFlops: 98 },
  'thinet-70': { params: 16_949_086, float32: 5_235_006_976, exact: 5_235_007_132, zeroWeightFlops: 6_370 },
};

/**
 * The seed's ResNet-50 shortcut conv (thinetresnet.py `downsample`) has bias=True; core's ImageNet ResNet has
 * no shortcut bias (torchvision's, as in the l1-norm folder). One bias per output channel of the four
 * shortcuts: 256 + 512 + 1024 + 2048 parameters, and one add per output element at 56², 28², 14², 7².
 */
const SHORTCUT_BIAS: Counts = {
  params: 256 + 512 + 1024 + 2048,
  flops: 256 * 56 * 56 + 512 * 28 * 28 + 1024 * 14 * 14 + 2048 * 7 * 7,
};

/** resnet50 and ThiNet-30/50/70 (the VGG ones are thinet-conv, -gap, -tiny). */
const isResNet = (name: string) => name === 'resnet50' || /^thinet-\d+$/.test(name);

/** Our count of a spec, memoised (VGG-16 is a 138M-parameter model to build). */
const counted = new Map<string, Counts>();
function countOf(name: CountedName): Counts {
  if (!counted.has(name)) {
    const spec = name === 'vgg16' ? THINET_REFERENCES['thinet-conv']
      : name === 'resnet50' ? THINET_REFERENCES['thinet-30'] : THINET_ARCHITECTURES[name];
    counted.set(name, countSpec(spec));
  }
  return counted.get(name)!;
}

const ALL_COUNTED = ['vgg16', ...THINET_ARCHITECTURE_NAMES, 'resnet50'] as const;

describe('ThiNet architectures: params and FLOPs as the seed\'s compute_flops.py counts them', () => {
  it.each(ALL_COUNTED)('%s: countSpec = the seed\'s dense sums, less the shortcut bias on ResNets', (name) => {
    const seed = SEED_COUNTS[name];
    const bias = isResNet(name) ? SHORTCUT_BIAS : { params: 0, flops: 0 };
    const flops = seed.exact + seed.zeroWeightFlops - bias.flops;
    expect(countOf(name)).toEqual({ params: seed.params - bias.params, flops });
    // Against what the seed's function returns as is: within its float32 rounding and zero weights.
    expect(Math.abs(countOf(name).flops + bias.flops - seed.float32) / seed.float32).toBeLessThan(2e-6);
  });

  it('ThiNet-GAP and -Tiny have the released models\' parameters (Roll920/ThiNet README: 8.32M, 1.32M)', () => {
    expect(Math.abs(countOf('thinet-gap').params / 1e6 - 8.32)).toBeLessThan(0.01);
    expect(Math.abs(countOf('thinet-tiny').params / 1e6 - 1.32)).toBeLessThan(0.01);
  });
});

describe('ThiNet architectures: widths', () => {
  // thinetresnet.py cfg_thinet30 / 50 / 70, verbatim: (block input, conv1 out, conv2 out) for the 16 blocks.
  const SEED_RESNET_CFGS: Record<'thinet-30' | 'thinet-50' | 'thinet-70', number[]> = {
    'thinet-30': [
      64, 19, 19, 256, 19, 19, 256, 19, 19, 256, 38, 38, 512, 38, 38, 512, 38, 38, 512, 38, 38, 512, 76,
      76, 1024, 76, 76, 1024, 76, 76, 1024, 76, 76, 1024, 76, 76, 1024, 76, 76, 1024, 153, 153, 2048, 153,
      153, 2048, 153, 153
    ],
    'thinet-50': [
      64, 32, 32, 256, 32, 32, 256, 32, 32, 256, 64, 64, 512, 64, 64, 512, 64, 64, 512, 64, 64, 512, 128,
      128, 1024, 128, 128, 1024, 128, 128, 1024, 128, 128, 1024, 128, 128, 1024, 128, 128, 1024, 256, 256,
      2048, 256, 256, 2048, 256, 256
    ],
    'thinet-70': [
      64, 44, 44, 256, 44, 44, 256, 44, 44, 256, 89, 89, 512, 89, 89, 512, 89, 89, 512, 89, 89, 512, 179,
      179, 1024, 179, 179, 1024, 179, 179, 1024, 179, 179, 1024, 179, 179, 1024, 179, 179, 1024, 358, 358,
      2048, 358, 358, 2048, 358, 358
    ],
  };

  const resnetNames = ['thinet-30', 'thinet-50', 'thinet-70'] as const;
  it.each(resnetNames)('%s: conv1/conv2 widths of the seed\'s cfg', (name) => {
    const seedInner = SEED_RESNET_CFGS[name].filter((_, index) => index % 3 !== 0);
    expect((THINET_ARCHITECTURES[name] as ImageNetResNetSpec).cfg).toEqual(seedInner);
  });

  it('every architecture and reference is a valid spec on 224×224 ImageNet', () => {
    for (const name of THINET_ARCHITECTURE_NAMES) {
      expect(validateSpec(THINET_ARCHITECTURES[name]).dataset).toBe('imagenet');
      expect(validateSpec(THINET_REFERENCES[name]).dataset).toBe('imagenet');
    }
    expect(THINET_ARCHITECTURES['thinet-gap']).toMatchObject({ head: 'gap', batchNorm: false });
  });
});

describe('Scratch-B of the ThiNet architectures (main_B.py through core\'s imagenetScratchBRecipe)', () => {
  // Seed README: "180 epochs for all networks other than thinet-70; 141 for thinet-70".
  const README_EPOCHS: Record<ThiNetArchitecture, number> = {
    'thinet-conv': 180, 'thinet-gap': 180, 'thinet-tiny': 180,
    'thinet-30': 180, 'thinet-50': 180, 'thinet-70': 141,
  };
  // method-facts.md §5.2: r = F(reference) / F(pruned) recomputed with the seed's counting rules.
  const FACT_RATIOS: Record<ThiNetArchitecture, number> = {
    'thinet-conv': 3.23, 'thinet-gap': 3.31, 'thinet-tiny': 15.4, 'thinet-30': 3.48, 'thinet-50': 2.24,
    'thinet-70': 1.569,
  };

  it.each(THINET_ARCHITECTURE_NAMES)('%s: the README\'s epochs, LR steps at every third', (name) => {
    const reference = countOf(isResNet(name) ? 'resnet50' : 'vgg16').flops;
    const ratio = reference / countOf(name).flops;
    expect(Math.abs(ratio - FACT_RATIOS[name]) / FACT_RATIOS[name]).toBeLessThan(0.005);
    const recipe = imagenetScratchBRecipe(90, reference, countOf(name).flops);
    expect(recipe.epochs).toBe(README_EPOCHS[name]);
    // main_B.py: step 60 when r ≥ 2 (its `stepz_size` typo aside), else int(E/3) = 47 for 141 epochs.
    expect(recipe.milestones).toEqual(name === 'thinet-70' ? [47, 94] : [60, 120]);
  });
});
