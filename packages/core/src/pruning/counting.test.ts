import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import { initBackend, shutdownBackend } from '../backend';
import { countModel, countSpec } from './counting';
import { buildModel, namedSpec, type ArchSpec, type VggSpec } from '../spec';
import { WEIGHT_LEVEL_FORMS } from '../test-util/folder-forms';

beforeAll(async () => { await initBackend('cpu'); });
afterAll(() => shutdownBackend());

/** VGG on 32×32 input with the l1-norm head, counted by hand from the seed's per-module formulas. */
function vggWeightLevelByHand(cfg: Array<number | 'M'>, classes: number) {
  // bearpaw's VGG: convs with a bias, BN, ReLU; functional 2×2 avg pool; Linear(512, classes).
  let params = 0;
  let flops = 0;
  let c = 3;
  let hw = 32;
  for (const v of cfg) {
    if (v === 'M') { hw /= 2; flops += 4 * c * hw * hw; continue; }
    params += 9 * c * v + v + 2 * v;
    flops += (9 * c * 2 + 1) * v * hw * hw + 3 * v * hw * hw;
    c = v;
  }
  return { params: params + c * classes + classes, flops: flops + 2 * c * classes + classes };
}

function vggByHand(cfg: Array<number | 'M'>, classes: number) {
  let params = 0;
  let flops = 0;
  let macs = 0; // conv multiply-adds only, what Li et al. report as FLOPs
  let c = 3;
  let hw = 32;
  for (const v of cfg) {
    if (v === 'M') {
      hw /= 2;
      flops += 4 * c * hw * hw; // max pool: k² per output element
      continue;
    }
    params += 9 * c * v + 2 * v; // conv (no bias) + BN γ, β
    flops += 9 * c * 2 * v * hw * hw + 2 * v * hw * hw + v * hw * hw; // conv + BN2d + ReLU
    macs += 9 * c * v * hw * hw;
    c = v;
  }
  // classifier: Linear(c,512) BN1d(512) ReLU Linear(512,classes); BN1d and the functional avgpool count 0.
  params += c * 512 + 512 + 2 * 512 + 512 * classes + classes;
  flops += 2 * c * 512 + 512 + 512 + 2 * 512 * classes + classes;
  return { counts: { params, flops }, macs };
}

describe('countSpec (compute_flops.py conventions)', () => {
  it('VGG-16 (l1-norm) on CIFAR-10: 15.0M parameters, conv multiply-adds 3.13e8 as in Li et al.', () => {
    const counts = countSpec(namedSpec('vgg16'));
    const hand = vggByHand((namedSpec('vgg16') as VggSpec).cfg, 10);
    expect(counts).toEqual(hand.counts);
    expect(counts.params / 1e6).toBeCloseTo(15.0, 1);
    expect(hand.macs / 1e8).toBeCloseTo(3.13, 2); // Li et al., Table 1
  });

  it('the pruned VGG-16 cfg of vggprune.py: 5.4M parameters, 34% fewer conv multiply-adds', () => {
    const pruned = [32, 64, 'M', 128, 128, 'M', 256, 256, 256, 'M', 256, 256, 256, 'M', 256, 256, 256] as Array<number | 'M'>;
    const spec: VggSpec = { ...(namedSpec('vgg16') as VggSpec), cfg: pruned };
    const counts = countSpec(spec);
    const hand = vggByHand(pruned, 10);
    expect(counts).toEqual(hand.counts);
    expect(counts.params / 1e6).toBeCloseTo(5.4, 1);
    expect(hand.macs / 1e8).toBeCloseTo(2.06, 2); // Li et al., Table 1: 34.2% fewer
  });

  it('ResNet-56 on CIFAR-10: 853 018 parameters (0.85M), FLOPs = 2·MACs + BN + ReLU + pool + fc', () => {
    const counts = countSpec(namedSpec('resnet56'));
    expect(counts.params).toBe(853_018); // summed by hand in the note of this test file
    // Conv MACs: stem 3·16·9·32² ; per stage s with width w and map m: first block conv1 in→w, then w→w convs.
    const stages = [[16, 16, 32], [16, 32, 16], [32, 64, 8]];
    let macs = 3 * 16 * 9 * 32 * 32;
    let bnElems = 16 * 32 * 32;
    let reluElems = 16 * 32 * 32;
    for (const [cin, w, m] of stages) {
      macs += (cin * w * 9 + w * w * 9) * m * m + 8 * 2 * (w * w * 9) * m * m;
      bnElems += 9 * 2 * w * m * m;
      reluElems += 9 * 2 * w * m * m;
    }
    expect(macs / 1e8).toBeCloseTo(1.25, 2); // Li et al., Table 1: 1.25e8
    const expected = 2 * macs + 2 * bnElems + reluElems + 8 * 8 * 64 + (2 * 64 * 10 + 10);
    expect(counts.flops).toBe(expected);
  });

  it.each([
    ['preresnet164', 18, true, 1.7], // network slimming (Liu et al. 2017), Table 1: 1.70M
    ['preresnet110-wl', 12, false, 1.15], // bearpaw's PreResNet-110 (bottleneck), ≈1.15M
  ] as const)('%s on CIFAR-10: params and FLOPs equal the per-module sums', (name, n, selection, millions) => {
    const counts = countSpec(WEIGHT_LEVEL_FORMS[name]?.() ?? namedSpec(name));
    let params = 3 * 16 * 9;
    let flops = 3 * 16 * 9 * 2 * 32 * 32;
    let inplanes = 16;
    [[16, 32], [32, 16], [64, 8]].forEach(([p, out], s) => {
      for (let b = 0; b < n; b++) {
        const inMap = s > 0 && b === 0 ? 2 * out : out; // the first block of stages 2 and 3 reads the larger map
        const px = out * out;
        // bn1 (+ the selection's `indexes` parameter, which computes nothing), ReLU on the selected channels
        params += 2 * inplanes + (selection ? inplanes : 0);
        flops += 2 * inplanes * inMap * inMap + inplanes * inMap * inMap;
        // conv1 1×1 at the input resolution, bn2 + ReLU; conv2 3×3 (stride), bn3 + ReLU; conv3 1×1
        params += inplanes * p + 2 * p + 9 * p * p + 2 * p + p * 4 * p;
        flops += 2 * inplanes * p * inMap * inMap + 3 * p * inMap * inMap;
        flops += 9 * p * 2 * p * px + 3 * p * px + p * 2 * 4 * p * px;
        if (b === 0) { // 1×1 conv shortcut (stride 2 after stage 1)
          params += inplanes * 4 * p;
          flops += inplanes * 2 * 4 * p * px;
        }
        inplanes = 4 * p;
      }
    });
    params += 2 * 256 + (selection ? 256 : 0) + 256 * 10 + 10; // bn, selection, fc
    flops += 2 * 256 * 64 + 256 * 64 + 64 * 256 + 2 * 256 * 10 + 10; // bn, ReLU, avgpool 8×8, fc
    expect(counts).toEqual({ params, flops });
    expect(Math.abs(counts.params / 1e6 - millions)).toBeLessThan(0.05);
  });

  it.each([
    // DenseNet-40 (k=12): "1.0M" parameters (Huang et al., rounded; the sums give 1.06M); DenseNet-BC-100 (k=12): 0.8M.
    ['densenet40', 1.0, false, 1],
    ['densenet40-wl', 1.0, false, 1],
    ['densenet-bc100', 0.8, true, 2],
  ] as const)('%s: params ≈ %fM; params and FLOPs equal the per-module sums', (name, millions, bottleneck, compression) => {
    const slimming = name === 'densenet40';
    const counts = countSpec(WEIGHT_LEVEL_FORMS[name]?.() ?? namedSpec(name));
    const g = 12;
    const n = bottleneck ? 16 : 12;
    let c = 2 * g;
    let params = 3 * c * 9;
    let flops = 3 * c * 9 * 2 * 32 * 32;
    const preact = (ch: number, px: number) => { // bn (+ selection indexes) and ReLU on `ch` channels
      params += 2 * ch + (slimming ? ch : 0);
      flops += 3 * ch * px;
    };
    for (let s = 0; s < 3; s++) {
      const side = 32 >> s;
      const px = side * side;
      for (let b = 0; b < n; b++) {
        preact(c, px);
        if (bottleneck) {
          params += c * 4 * g + 2 * 4 * g + 9 * 4 * g * g;
          flops += 2 * c * 4 * g * px + 3 * 4 * g * px + 9 * 4 * g * 2 * g * px;
        } else {
          params += 9 * c * g;
          flops += 9 * c * 2 * g * px;
        }
        c += g;
      }
      if (s < 2) { // transition: bn, ReLU, 1×1 conv; its 2×2 pooling is functional in the seed (0 FLOPs)
        preact(c, px);
        const out = Math.floor(c / compression);
        params += c * out;
        flops += 2 * c * out * px;
        c = out;
      }
    }
    preact(c, 64);
    params += c * 10 + 10;
    flops += 64 * c + 2 * c * 10 + 10; // avgpool 8×8, fc
    expect(counts).toEqual({ params, flops });
    expect(Math.abs(counts.params / 1e6 - millions)).toBeLessThan(0.1);
  });

  it.each([
    ['resnet34-imagenet', 21_797_672, 3.6],
    ['resnet50-imagenet', 25_557_032, 4.1],
  ] as const)('%s: %i parameters as torchvision counts them, ≈%f G conv+fc multiply-adds', (name, params, gmacs) => {
    const counts = countSpec(namedSpec(name));
    expect(counts.params).toBe(params);
    // Conv and fc FLOPs dominate; BN, ReLU and pooling add a few percent on top of 2·MACs.
    expect(counts.flops / 2 / 1e9).toBeGreaterThan(gmacs * 0.98);
    expect(counts.flops / 2 / 1e9).toBeLessThan(gmacs * 1.06);
  });

  it.each([
    ['vgg16-imagenet', 138_357_544], // torchvision vgg16
    ['vgg16-bn-imagenet', 138_365_992], // torchvision vgg16_bn: vgg16 + γ, β of 4 224 conv channels
    ['vgg11-imagenet', 132_868_840 + 2 * 2 * 4096], // torchvision vgg11_bn + the slimming model's two BatchNorm1d
  ] as const)('%s: %i parameters', (name, params) => {
    expect(countSpec(namedSpec(name)).params).toBe(params);
  });

  it('VGG-19-BN of the weight-level folder (conv bias, one linear layer): 20.04M parameters', () => {
    const spec = WEIGHT_LEVEL_FORMS['vgg19-wl']();
    const counts = countSpec(spec);
    expect(counts).toEqual(vggWeightLevelByHand((spec as VggSpec).cfg, 10));
    expect(counts.params / 1e6).toBeCloseTo(20.04, 2);
  });

  it('the seed\'s weight-level "DenseNet-BC-100" (basic blocks, compression 0.5) has 3 989 232 conv weights', () => {
    // method-facts.md §3.1: widths 24→408 →204→588 →294→678, ≈4.07M parameters in all.
    const model = buildModel(WEIGHT_LEVEL_FORMS['densenet100-basic'](), 0);
    const convWeights = model.layers.filter((l) => l.getClassName() === 'Conv2D')
      .reduce((sum, l) => sum + l.getWeights()[0].size, 0);
    expect(convWeights).toBe(3_989_232);
    expect(Math.abs(countModel(WEIGHT_LEVEL_FORMS['densenet100-basic'](), model).params / 1e6 - 4.07)).toBeLessThan(0.01);
    model.dispose();
  });

  it('a masked conv counts its non-zero weights only: 2 FLOPs per zeroed weight and output position fewer', () => {
    // TINY-like VGG: conv 0 is 3×3×1×4 on 32×32 (padding same); zero 5 of its 36 weights.
    const spec: ArchSpec = { arch: 'vgg', dataset: 'mnist', cfg: [4, 'M', 8], classifier: 'linear' };
    const mask = tf.tensor4d(Array.from({ length: 36 }, (_, i) => (i < 5 ? 0 : 1)), [3, 3, 1, 4]);
    const dense = countSpec(spec);
    const sparse = countSpec(spec, new Map([['features.0.conv/kernel', mask]]));
    expect(dense.flops - sparse.flops).toBe(2 * 5 * 32 * 32);
    expect(dense.params - sparse.params).toBe(5);
    mask.dispose();
  });

  it('an ImageNet VGG with the gap head: per-module sums by hand; the AvgPool(14, 2) in forward counts 0', () => {
    // cfg [2, M, 2, M, 2, M, 2, M, 3], 1000 classes, convs with bias, no BN. Per conv (2·9·Cin + 1)·Cout·H²
    // + ReLU Cout·H²; per max pool 4·C·(H/2)²; fc 2·3·1000 + 1000. Params 56 + 3·38 + 57 + 4000.
    // The seed's thinetvgg.VGG(make_layers(cfg), 3) gives the same 4227 / 7 033 600 under compute_flops.py.
    const spec: ArchSpec = {
      arch: 'vgg-imagenet', dataset: 'imagenet', cfg: [2, 'M', 2, 'M', 2, 'M', 2, 'M', 3], batchNorm: false,
      head: 'gap',
    };
    const conv = (cin: number, cout: number, side: number) => ((2 * 9 * cin + 1) * cout + cout) * side * side;
    const convs = conv(3, 2, 224) + conv(2, 2, 112) + conv(2, 2, 56) + conv(2, 2, 28) + conv(2, 3, 14);
    const pools = 4 * 2 * (112 * 112 + 56 * 56 + 28 * 28 + 14 * 14);
    expect(convs + pools + 7000).toBe(7_033_600);
    expect(countSpec(spec)).toEqual({ params: 4227, flops: 7_033_600 });
  });
});
