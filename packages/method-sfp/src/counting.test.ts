import { buildModel, countSpec, initBackend, namedSpec, shutdownBackend } from '@rethink-prune/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { softPruneMasks } from './soft-prune';
import './models'; // the folder's named models

beforeAll(async () => { await initBackend('cpu'); });
afterAll(() => shutdownBackend());

/** Filters zeroed at rate 0.7 (method-facts §2.2): int(0.3 · C). */
const ZEROED_AT_07: Record<number, number> = { 16: 4, 32: 9, 64: 19 };

/**
 * The seed's compute_flops.py on the SFP ResNet-`depth` for CIFAR-10, summed by hand from the architecture
 * (method-facts §2.1, §2.5): bias-free conv 2·(non-zero weights)·Ho·Wo, BN 2 per element, DownsampleA's
 * AvgPool(1, 2) 1 per output element, AvgPool(8) 64 per output element, Linear 2·weights + bias, ReLU 0.
 */
function handFlops(depth: number, zeroed: (filters: number) => number): number {
  const blocks = (depth - 2) / 6;
  const conv = (inputs: number, outputs: number, side: number) =>
    2 * 9 * inputs * (outputs - zeroed(outputs)) * side * side;
  const batchNorm = (channels: number, side: number) => 2 * channels * side * side;
  let side = 32;
  let flops = conv(3, 16, side) + batchNorm(16, side);
  let channels = 16;
  [16, 32, 64].forEach((width, stage) => {
    for (let block = 0; block < blocks; block++) {
      if (stage > 0 && block === 0) {
        side /= 2;
        flops += channels * side * side; // the shortcut's subsampling of the block input
      }
      flops += conv(channels, width, side) + batchNorm(width, side);
      flops += conv(width, width, side) + batchNorm(width, side);
      channels = width;
    }
  });
  return flops + 64 * 64 + (2 * 64 * 10 + 10);
}

describe("SFP's Scratch-B budget: the seed's FLOPs ratio of the full and the soft-pruned ResNet", () => {
  const depths = [20, 32, 56, 110];
  // method-facts §2.5: r ≈ 1.377, E = int(400 · r) = 550 (ResNet-20) and 551 (32, 56, 110).
  const budgetEpochs = [550, 551, 551, 551];

  depths.forEach((depth, index) => {
    it(`ResNet-${depth}-sfp at rate 0.7: hand sums, r ≈ 1.377, int(400·r) = ${budgetEpochs[index]}`, () => {
      const spec = namedSpec(`resnet${depth}-sfp`);
      const model = buildModel(spec, 0);
      const masks = softPruneMasks(model, 0.7);
      model.dispose();
      const full = countSpec(spec).flops;
      const sparse = countSpec(spec, masks).flops;
      for (const mask of masks.values()) mask.dispose();
      expect(full).toBe(handFlops(depth, () => 0));
      expect(sparse).toBe(handFlops(depth, (filters) => ZEROED_AT_07[filters]));
      const ratio = full / sparse;
      expect(ratio).toBeCloseTo(1.377, 2);
      expect(Math.floor(400 * ratio)).toBe(budgetEpochs[index]);
      // Only output filters are zero (the next conv's input slices still count): 27.4–27.5% fewer FLOPs.
      expect(100 * (1 - sparse / full)).toBeCloseTo(27.5, 0);
    });
  });

  it('ResNet-20-sfp dense: 81.49M FLOPs by the hand sum (conv 81.10M, BN 0.38M, pooling and fc 0.01M)', () => {
    // Convs: stem 884 736; stage 1: 6 × 4 718 592; stages 2 and 3: 2 359 296 + 5 × 4 718 592 each.
    const convs = 884_736 + 6 * 4_718_592 + 2 * (2_359_296 + 5 * 4_718_592);
    // BN: 7 of 16·32², 6 of 32·16², 6 of 64·8²; pooling: 16·16² + 32·8² + 64·64; fc: 1 290.
    const batchNorms = 7 * 32_768 + 6 * 16_384 + 6 * 8_192;
    expect([convs, batchNorms]).toEqual([81_100_800, 376_832]);
    expect(countSpec(namedSpec('resnet20-sfp')).flops).toBe(81_489_162);
  });
});

describe("what the SFP ResNet's counter sees: functional ReLUs, DownsampleA pooling as a module", () => {
  it('ResNet-56: l1-norm form − sfp form = ReLU elements (532 480) − DownsampleA pooling (6 144)', () => {
    // The l1-norm folder's ReLUs are modules (1 per input element) and its 2×2 shortcut pooling is a function (0);
    // SFP's ReLUs are F.relu (0) and its AvgPool(1, 2) a module. Convs, BN, fc and parameters agree.
    const reluElements = 16 * 32 * 32 + 9 * (2 * 16 * 32 * 32 + 2 * 32 * 16 * 16 + 2 * 64 * 8 * 8);
    const downsamplePooling = 16 * 16 * 16 + 32 * 8 * 8;
    expect([reluElements, downsamplePooling]).toEqual([532_480, 6_144]);
    const [l1Form, sfpForm] = [namedSpec('resnet56'), namedSpec('resnet56-sfp')].map((spec) => countSpec(spec));
    expect(l1Form.flops - sfpForm.flops).toBe(reluElements - downsamplePooling);
    expect(l1Form.params).toBe(sfpForm.params);
  });
});
