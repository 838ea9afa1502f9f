import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initBackend, shutdownBackend } from '../backend';
import { countSpec } from '../pruning/counting';
import { SpecError } from '../errors';
import { buildModel, namedSpec, validateSpec, type ArchSpec } from '../spec';
import { narrowSpec } from '../widths';
import type { PreResNetImageNetSpec } from './preresnet-imagenet';

beforeAll(async () => { await initBackend('cpu'); });
afterAll(() => shutdownBackend());

function problemsOf(input: object): string[] {
  try {
    validateSpec(input);
  } catch (error) {
    if (error instanceof SpecError) return error.problems;
    throw error;
  }
  return [];
}

/**
 * Conv and fc multiply-adds of a pre-activation ResNet-50 with the README's units, written from the paper's
 * layout (not from the model): stem 7×7 at 112², stage s at 56/28/14/7, planes 64·2^s.
 */
function handMacs(units: Array<[number, boolean]>): number {
  let macs = 7 * 7 * 3 * 64 * 112 * 112;
  let inputs = 64;
  let inputSize = 56;
  units.forEach(([count, keepFirst], stage) => {
    const planes = 64 * 2 ** stage;
    const size = stage === 0 ? 56 : inputSize / 2;
    macs += inputs * 4 * planes * size * size; // the projection shortcut always stays
    if (keepFirst) macs += inputs * planes * inputSize ** 2 + (9 + 4) * planes * planes * size * size;
    const identityBlocks = keepFirst ? count - 1 : count;
    macs += identityBlocks * (4 + 9 + 4) * planes * planes * size * size;
    inputs = 4 * planes;
    inputSize = size;
  });
  return macs + 2048 * 1000;
}

const FULL = 'preresnet50-imagenet';
/** The SSS README's `config.units` of its pruned nets (method-sss registers them under these names). */
const SSS_UNITS: Record<string, Array<[number, boolean]>> = {
  'sss-resnet41': [[0, false], [4, true], [6, true], [3, true]],
  'sss-resnet32': [[1, false], [4, true], [4, true], [1, true]],
  'sss-resnet26': [[0, false], [2, false], [5, false], [1, true]],
};
const specOf = (name: string): ArchSpec => (SSS_UNITS[name]
  ? { arch: 'preresnet-imagenet', dataset: 'imagenet', units: SSS_UNITS[name] } : namedSpec(name, 'imagenet'));
const PRUNED = [['sss-resnet41', 1.178], ['sss-resnet32', 1.451], ['sss-resnet26', 1.795]] as const;

describe('pre-activation ImageNet ResNet (SSS, Table 5)', () => {
  it('a narrowed copy (planes ÷16) maps a 224×224 image to [1, 1000]', () => {
    for (const name of [FULL, 'sss-resnet26']) {
      const spec = narrowSpec(specOf(name), 16) as unknown as PreResNetImageNetSpec;
      expect(spec.planes).toEqual([4, 8, 16, 32]);
      const model = buildModel(spec as unknown as ArchSpec, 0);
      const logits = tf.tidy(() => (model.predict(tf.ones([1, 224, 224, 3])) as tf.Tensor).shape);
      expect(logits).toEqual([1, 1000]);
      model.dispose();
    }
  });

  it('ResNet-41 keeps only the 1×1 projection in stage 1, on the pre-activated stem output', () => {
    const spec = narrowSpec(specOf('sss-resnet41'), 16);
    const model = buildModel(spec, 0);
    const names = model.layers.map((layer) => layer.name);
    expect(names.filter((name) => name.startsWith('layer1.'))).toEqual(
      ['layer1.0.bn1', 'layer1.0.relu1', 'layer1.0.downsample']);
    expect(model.getLayer('layer1.0.downsample').getWeights()[0].shape).toEqual([1, 1, 4, 16]);
    expect(names.filter((name) => /^layer4\.\d\.add$/.test(name))).toEqual(
      ['layer4.0.add', 'layer4.1.add', 'layer4.2.add']);
    model.dispose();
  });

  it('the full net has 25,549,480 parameters, summed by hand stage by stage', () => {
    // Per bottleneck with input c and planes p: BN(c) 2c, 1×1 c·p, BN 2p, 3×3 9p², BN 2p, 1×1 4p²;
    // a stage's first block adds a projection c·4p. Stage s: first + (blocks − 1) identical others (c = 4p).
    const stem = 7 * 7 * 3 * 64 + 2 * 64;
    const stage1 = (128 + 4096 + 128 + 36864 + 128 + 16384 + 16384)
      + 2 * (512 + 16384 + 128 + 36864 + 128 + 16384);
    const stage2 = (512 + 32768 + 256 + 147456 + 256 + 65536 + 131072)
      + 3 * (1024 + 65536 + 256 + 147456 + 256 + 65536);
    const stage3 = (1024 + 131072 + 512 + 589824 + 512 + 262144 + 524288)
      + 5 * (2048 + 262144 + 512 + 589824 + 512 + 262144);
    const stage4 = (2048 + 524288 + 1024 + 2359296 + 1024 + 1048576 + 2097152)
      + 2 * (4096 + 1048576 + 1024 + 2359296 + 1024 + 1048576);
    const head = 2 * 2048 + 2048 * 1000 + 1000;
    expect([stage1, stage2, stage3, stage4]).toEqual([214912, 1218048, 7095296, 14958592]);
    expect(stem + stage1 + stage2 + stage3 + stage4 + head).toBe(25549480);
    expect(countSpec(specOf(FULL)).params).toBe(25549480);
  });

  it('full/pruned multiply-adds: 1.178, 1.451, 1.795 (Scratch-B ratios); countSpec within 1%', () => {
    const fullUnits: Array<[number, boolean]> = [[3, true], [4, true], [6, true], [3, true]];
    expect(handMacs(fullUnits)).toBe(4087136256 + 2048000);
    const fullFlops = countSpec(specOf(FULL)).flops;
    for (const [name, ratio] of PRUNED) {
      const spec = specOf(name) as unknown as PreResNetImageNetSpec;
      expect(handMacs(fullUnits) / handMacs(spec.units)).toBeCloseTo(ratio, 3);
      const flopsRatio = fullFlops / countSpec(spec as unknown as ArchSpec).flops;
      expect(Math.abs(flopsRatio / ratio - 1)).toBeLessThan(0.01);
    }
  });

  it('validation names the field and the allowed range for bad units', () => {
    const base = { arch: 'preresnet-imagenet', dataset: 'imagenet' };
    expect(problemsOf({ ...base, units: [[3, true], [4, true], [6, true], [3, true]] })).toEqual([]);
    expect(problemsOf({ ...base, units: [[3, true]] })).toEqual(['units: [[3,true]]; give four stages of ' +
      '[blocks, keepFirst], e.g. [[3, true], [4, true], [6, true], [3, true]]']);
    expect(problemsOf({ ...base, units: [[0, true], [4, false], [6, true], [3, 'yes']] })).toEqual([
      'units[0]: 0 blocks with keepFirst true; stage 1 of ResNet-50 allows 1..3',
      'units[1]: 4 blocks with keepFirst false; stage 2 of ResNet-50 allows 0..3',
      'units[3]: [3,"yes"] is not [blocks, keepFirst], e.g. [[3, true], [4, true], [6, true], [3, true]]',
    ]);
    expect(problemsOf({ ...base, units: [[3, true], [4, true], [6, true], [3, true]], planes: [64, 128] }))
      .toEqual(['planes: [64,128]; give the four stage widths, e.g. [64, 128, 256, 512]']);
    expect(problemsOf({ ...base, dataset: 'cifar10', units: [[3, true], [4, true], [6, true], [3, true]] }))
      .toEqual(['dataset: cifar10; the SSS pre-activation ResNets take 224×224 input']);
  });
});
