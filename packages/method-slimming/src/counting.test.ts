import { countSpec, initBackend, namedSpec, shutdownBackend } from '@rethink-prune/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import './models'; // the folder's named models

beforeAll(async () => { await initBackend('cpu'); });
afterAll(() => shutdownBackend());

describe("the slimming VGG-19 counted as the seed's compute_flops.py counts it", () => {
  it('CIFAR-10: 20.04M parameters (Liu et al. 2017, Table 1) and FLOPs equal to the per-module sums', () => {
    const cfg = [64, 64, 'M', 128, 128, 'M', 256, 256, 256, 256, 'M', 512, 512, 512, 512, 'M', 512, 512, 512, 512];
    let params = 0;
    let flops = 0;
    let channels = 3;
    let side = 32;
    for (const v of cfg) {
      if (v === 'M') { // nn.MaxPool2d(2, 2) is a module: k² = 4 per output element
        side /= 2;
        flops += 4 * channels * side * side;
        continue;
      }
      const out = v as number;
      params += 9 * channels * out + 2 * out; // bias-free conv, BN γ and β
      flops += (2 * 9 * channels) * out * side * side + 2 * out * side * side + out * side * side; // conv, BN, ReLU
      channels = out;
    }
    // The 2×2 average pooling of forward() is functional (0); one Linear(512, 10): 2·weights + bias.
    params += 512 * 10 + 10;
    flops += 2 * 512 * 10 + 10;
    expect(countSpec(namedSpec('vgg19-slimming'))).toEqual({ params, flops });
    expect((params / 1e6).toFixed(2)).toBe('20.04');
  });
});
