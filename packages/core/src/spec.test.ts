import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initBackend, shutdownBackend } from './backend';
import { SpecError } from './errors';
import { buildModel, namedSpec, registerModelNames, upgradeSpec, validateSpec, type ArchSpec } from './spec';
import { SFP_RESNET, WEIGHT_LEVEL_FORMS } from './test-util/folder-forms';

beforeAll(async () => { await initBackend('cpu'); });
afterAll(() => shutdownBackend());

describe('validateSpec', () => {
  it('lists every problem of a bad spec at once', () => {
    const err = (() => {
      try {
        validateSpec({ arch: 'vgg', dataset: 'svhn', cfg: [64, 0, 'X'], classifier: 'mlp' });
      } catch (e) {
        return e as SpecError;
      }
    })();
    expect(err).toBeInstanceOf(SpecError);
    expect(err!.problems).toEqual([
      expect.stringMatching(/^dataset: unknown dataset "svhn"/),
      'cfg[1]: 0 is not a channel count > 0 or "M"',
      'cfg[2]: "X" is not a channel count > 0 or "M"',
      expect.stringMatching(/^classifier: "mlp"/),
    ]);
  });

  it('rejects an unknown architecture and a ResNet cfg of the wrong length', () => {
    expect(() => validateSpec({ arch: 'mobilenet', dataset: 'cifar10' })).toThrow(/unknown architecture "mobilenet"/);
    expect(() => validateSpec({ arch: 'resnet', dataset: 'cifar10', depth: 56, cfg: [16, 16] })).toThrow(/needs 27 inner widths.*got 2/);
    expect(() => validateSpec({ arch: 'resnet', dataset: 'cifar10', depth: 57, cfg: [] })).toThrow(/depth 6n\+2/);
  });

  it('checks a PreResNet\'s cfg length and that every narrowed selection lists its channels', () => {
    const spec = namedSpec('preresnet20');
    const cfg = [...(spec as { cfg: number[] }).cfg];
    expect(() => validateSpec({ ...spec, cfg: cfg.slice(1) })).toThrow(/needs 19 widths/);
    cfg[0] = 8;
    expect(() => validateSpec({ ...spec, cfg })).toThrow(/cfg\[0\]: 8 channels selected from layer1\.0\.bn1 \(16\) needs selections\.layer1\.0\.select/);
    expect(() => validateSpec({ ...spec, cfg, selections: { 'layer1.0.select': [3, 1, 2, 4, 5, 6, 7, 8] } })).toThrow(/must be increasing/);
    expect(validateSpec({ ...spec, cfg, selections: { 'layer1.0.select': [0, 1, 2, 3, 4, 5, 6, 9] } })).toBeTruthy();
  });

  it('checks a PreResNet\'s planes; without them it has the seed\'s 16, 32, 64', () => {
    const spec = namedSpec('preresnet20');
    expect(() => validateSpec({ ...spec, planes: [16, 32] }))
      .toThrow(/planes: \[16,32\]; give the three stages' planes/);
    const model = buildModel(spec);
    expect(model.getLayer('layer3.0.conv3').getWeights()[0].shape).toEqual([1, 1, 64, 256]);
    model.dispose();
  });

  it('round-trips through JSON unchanged', () => {
    const spec = namedSpec('resnet56', 'cifar100');
    expect(validateSpec(JSON.parse(JSON.stringify(spec)))).toEqual(spec);
  });
});

describe('namedSpec', () => {
  it('answers every family\'s names and lists them all for an unknown one', () => {
    const names = ['vgg19-linear', 'resnet110', 'preresnet110', 'densenet40', 'resnet101-imagenet',
      'vgg16-imagenet', 'preresnet50-imagenet'];
    expect(names.map((name) => namedSpec(name).arch)).toEqual(
      ['vgg', 'resnet', 'preresnet', 'densenet', 'resnet-imagenet', 'vgg-imagenet', 'preresnet-imagenet']);
    expect(() => namedSpec('resnet57')).toThrow("unknown model name 'resnet57'; known: vgg11|13|16|19 " +
      '(BN-MLP head), vgg…-linear, resnet20|32|56|110, preresnet110|164, densenet40, resnet18|34|50|101-imagenet, ' +
      'vgg11-imagenet (BN, also in fc), vgg16-imagenet, vgg16-bn-imagenet, preresnet50-imagenet (a method package adds its own models ' +
      'when it is loaded)');
  });

  it('answers the names a method package registers, after core\'s, and names them for an unknown one', () => {
    expect(() => namedSpec('vgg16-test')).toThrow(/unknown model name/);
    registerModelNames({ modelNames: 'vgg…-test', namedSpec: (name, dataset) =>
      (name === 'vgg16-test' ? { ...namedSpec('vgg16', dataset), bnGamma: 1 } as ArchSpec : undefined) });
    expect(namedSpec('vgg16-test', 'mnist')).toMatchObject({ arch: 'vgg', dataset: 'mnist', bnGamma: 1 });
    expect(() => namedSpec('resnet57')).toThrow(/preresnet50-imagenet, vgg…-test \(a method package/);
  });

  it('reads a spec.json of earlier versions as the same model in today\'s fields', () => {
    expect(upgradeSpec({ ...namedSpec('vgg19-linear'), weightLevel: true })).toEqual(WEIGHT_LEVEL_FORMS['vgg19-wl']());
    expect(upgradeSpec({ ...namedSpec('preresnet110'), weightLevel: true })).toEqual(WEIGHT_LEVEL_FORMS['preresnet110-wl']());
    const { cfg: _, ...densenet } = namedSpec('densenet40') as ArchSpec & { cfg: number[] };
    expect(upgradeSpec({ ...densenet, variant: 'weight-level' })).toEqual(WEIGHT_LEVEL_FORMS['densenet40-wl']());
    expect(upgradeSpec({ ...namedSpec('densenet40'), variant: 'slimming' })).toEqual(namedSpec('densenet40'));
    expect(upgradeSpec({ ...namedSpec('resnet56'), form: 'sfp' })).toEqual({ ...namedSpec('resnet56'), ...SFP_RESNET });
    expect(upgradeSpec({ ...namedSpec('vgg16'), weightLevel: false })).toEqual(namedSpec('vgg16'));
    // Anything else is left for validateSpec to name.
    expect(upgradeSpec({ ...namedSpec('resnet56'), form: 'other' })).toMatchObject({ form: 'other' });
  });

  it('refuses the method-named fields of earlier versions, naming what replaces them', () => {
    expect(() => validateSpec({ ...namedSpec('vgg19-linear'), weightLevel: true }))
      .toThrow(/weightLevel: a field of earlier versions; .*"convBias": true, "bnGamma": 1, "convInit": "fan-in"/);
    expect(() => validateSpec({ ...namedSpec('resnet56'), form: 'sfp' })).toThrow(/form: .*"shortcutPool": 1/);
    expect(() => validateSpec({ ...namedSpec('densenet40'), variant: 'slimming' })).toThrow(/variant: .*default/);
    expect(() => validateSpec({ ...namedSpec('preresnet110'), weightLevel: true })).toThrow(/"channelSelection": false/);
    expect(() => validateSpec({ ...namedSpec('vgg16'), bnGamma: 0 })).toThrow(/bnGamma: 0; give the initial BN scale/);
    expect(() => validateSpec({ ...namedSpec('preresnet110'), convBias: true })).toThrow(/convBias: this family does not have it/);
    expect(() => validateSpec({ ...namedSpec('resnet56'), shortcut: 'conv', shortcutPool: 1 }))
      .toThrow(/a 1×1 conv shortcut \(shortcut: "conv"\) has no pooling/);
    expect(() => validateSpec({ ...namedSpec('resnet56'), shortcut: 'projection' }))
      .toThrow(/shortcut: "projection"; use "zero-pad" \(the default\) or "conv"/);
  });
});

describe('buildModel', () => {
  it('VGG-16 (l1-norm head) has 13 named convs and the l1 classifier, 10 or 100 outputs', () => {
    for (const [dataset, classes] of [['cifar10', 10], ['cifar100', 100]] as const) {
      const model = buildModel(namedSpec('vgg16', dataset));
      expect(model.layers.filter((l) => l.getClassName() === 'Conv2D').map((l) => l.name)).toEqual(
        Array.from({ length: 13 }, (_, i) => `features.${i}.conv`));
      expect(model.getLayer('classifier.0').getWeights()[0].shape).toEqual([512, 512]);
      expect(model.outputs[0].shape).toEqual([null, classes]);
      model.dispose();
    }
  });

  it('grayscale data gets a one-channel input', () => {
    const model = buildModel(namedSpec('resnet20', 'fashion-mnist'));
    expect(model.inputs[0].shape).toEqual([null, 32, 32, 1]);
    expect(model.getLayer('conv1').getWeights()[0].shape).toEqual([3, 3, 1, 16]);
    model.dispose();
  });

  it('the ResNet shortcut pads channels with zeros after 2×2 average pooling', () => {
    const model = buildModel(namedSpec('resnet20'));
    const kernel = model.getLayer('layer2.0.shortcut').getWeights()[0];
    expect(kernel.shape).toEqual([1, 1, 16, 32]);
    const k = kernel.reshape([16, 32]).arraySync() as number[][];
    expect(k[3][3]).toBe(1);
    expect(k[3][19]).toBe(0);
    expect(k.flat().reduce((a, b) => a + b, 0)).toBe(16);
    expect(model.getLayer('layer2.0.shortcut').trainable).toBe(false);
    model.dispose();
  });

  it('DenseNet: slimming has a selection before every conv reading the concatenation; BC-100 has bottlenecks and halves at transitions', () => {
    const slim = buildModel(namedSpec('densenet40'));
    expect(slim.layers.filter((l) => l.name.endsWith('select')).length).toBe(39);
    expect(slim.getLayer('dense3.11.conv1').getWeights()[0].shape).toEqual([3, 3, 444, 12]);
    const bc = buildModel(WEIGHT_LEVEL_FORMS['densenet-bc100']());
    expect(bc.layers.some((l) => l.name.endsWith('select'))).toBe(false);
    expect(bc.getLayer('dense1.0.conv1').getWeights()[0].shape).toEqual([1, 1, 24, 48]);
    expect(bc.getLayer('trans1.conv1').getWeights()[0].shape).toEqual([1, 1, 216, 108]);
    expect(bc.getLayer('fc').getWeights()[0].shape).toEqual([342, 10]);
    expect(() => validateSpec({ ...WEIGHT_LEVEL_FORMS['densenet40-wl'](), cfg: [1] })).toThrow(/without channel selections has no cfg/);
  });

  it('the same seed gives the same weights; another seed does not', () => {
    const a = buildModel(namedSpec('resnet20'), 4).getLayer('layer1.0.conv1').getWeights()[0].dataSync();
    const b = buildModel(namedSpec('resnet20'), 4).getLayer('layer1.0.conv1').getWeights()[0].dataSync();
    const c = buildModel(namedSpec('resnet20'), 5).getLayer('layer1.0.conv1').getWeights()[0].dataSync();
    expect(Array.from(a)).toEqual(Array.from(b));
    expect(Array.from(a)).not.toEqual(Array.from(c));
  });
});

describe('conv initialisation', () => {
  /** Sample std of a conv kernel's weights. */
  const kernelStd = (spec: ArchSpec, layer: string) => {
    const model = buildModel(spec, 3);
    const values = Array.from(model.getLayer(layer).getWeights()[0].dataSync());
    model.dispose();
    const mean = values.reduce((a, v) => a + v, 0) / values.length;
    return Math.sqrt(values.reduce((a, v) => a + (v - mean) ** 2, 0) / (values.length - 1));
  };

  it('the weight-level VGG draws by fan-in √(2/(9·C_in)), the slimming VGG by fan-out √(2/(9·C_out))', () => {
    // features.2.conv maps 64 → 128 channels (73 728 weights): the two rules differ by √2.
    expect(kernelStd(WEIGHT_LEVEL_FORMS['vgg19-wl'](), 'features.2.conv') / Math.sqrt(2 / (9 * 64))).toBeCloseTo(1, 1);
    expect(kernelStd(namedSpec('vgg19-linear'), 'features.2.conv') / Math.sqrt(2 / (9 * 128))).toBeCloseTo(1, 1);
  });
});
