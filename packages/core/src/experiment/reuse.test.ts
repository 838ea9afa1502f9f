import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { afterAll, describe, expect, it } from 'vitest';
import { copyStage, findReusable, trainingKey } from './reuse';

// Identities as run.ts writes them (cut to their fields), literal.
const common = { profile: 'small', seed: 0, data: { dataset: 'cifar10', limit: {} } };
const recipe = { epochs: 40, lr: 0.05 };
const baseline = (method: string, extra: Record<string, unknown> = {}) =>
  ({ method, ...common, stage: 'baseline', model: 'vgg16', spec: { cfg: [16, 'M'] }, recipe, hooks: null, ...extra });
const scratch = (method: string, variant: string, pruner: string, extra: Record<string, unknown> = {}) =>
  ({ method, ...common, stage: 'scratch-e', variant, spec: { cfg: [8, 'M'] }, recipe, init: 'fresh', hooks: null,
    pruned: { method, stage: 'prune', variant, pruner }, ...extra });

describe('trainingKey: what decides a stage\'s weights', () => {
  it('a plain baseline: everything but the names of the method and the model', () => {
    expect(trainingKey(baseline('thinet'))).toEqual(trainingKey(baseline('regression', { model: 'vgg16-regression' })));
    expect(trainingKey(baseline('thinet'))).not.toEqual(trainingKey(baseline('regression', { spec: { cfg: [16, 'M'], convBias: true } })));
    expect(trainingKey(baseline('thinet'))).not.toHaveProperty('method');
    expect(trainingKey(baseline('thinet', { recipe: { epochs: 40, lr: 0.1 } }))).not.toEqual(trainingKey(baseline('regression')));
  });

  it('a fresh scratch run after a structured prune: without method, variant and prune', () => {
    const thinet = trainingKey(scratch('thinet', 'vgg16-conv', 'structured thinet 2'));
    expect(thinet).toEqual(trainingKey(scratch('regression', 'vgg16-50', 'structured regression 1')));
    expect(thinet).not.toEqual(trainingKey(scratch('regression', 'vgg16-50', 'structured regression 1', { spec: { cfg: [4, 'M'] } })));
    expect(thinet).not.toEqual(trainingKey(scratch('regression', 'vgg16-50', 'structured regression 1', { seed: 1 })));
  });

  it.each([
    ['a baseline with hooks (sparsity)', baseline('slimming', { hooks: { id: 'sparsity', params: { s: 1e-4 } } })],
    ['a baseline started from another', baseline('slimming', { start: 'plain-baseline' })],
    ['a scratch run after masks', scratch('weight-level', 'vgg19-30', 'unstructured weight-level 1')],
    ['a scratch run from the saved init', scratch('lottery-ticket', 'vgg16-A', 'structured l1 1', { init: 'saved-init' })],
    ['a fine-tune', scratch('l1-norm', 'vgg16-A', 'structured l1 1', { stage: 'finetune', init: 'pruned' })],
  ])('none for %s: it depends on its method', (_, identity) => {
    expect(trainingKey(identity)).toBeUndefined();
  });
});

describe('findReusable and copyStage', () => {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'reuse-'));
  afterAll(() => fs.rmSync(root, { recursive: true, force: true }));
  const subset = { train: 10000, test: 2000 };
  /** A finished stage as the loop leaves it; `examples` in its result, or (older runs) in its checkpoint alone. */
  const stage = (dir: string, identity: Record<string, unknown>, top1: number, examplesIn: 'result' | 'checkpoint' = 'result') => {
    fs.mkdirSync(path.join(dir, 'best'), { recursive: true });
    fs.mkdirSync(path.join(dir, 'checkpoint'), { recursive: true });
    fs.writeFileSync(path.join(dir, 'best', 'weights.bin'), `weights ${top1}`);
    fs.writeFileSync(path.join(dir, 'checkpoint', 'state.json'), JSON.stringify(state(identity)));
    fs.writeFileSync(path.join(dir, 'result.json'), JSON.stringify({ bestTop1: top1, final: { top1 }, identity,
      ...(examplesIn === 'result' ? { examples: subset } : {}) }));
  };
  /** A checkpoint's state.json (the loop's fields, literal). */
  const state = (identity: Record<string, unknown>, examples = subset) => ({ epoch: 3, nextBatch: 0, bestTop1: 50,
    bestEpoch: 3, metricsLines: 3, trainSeconds: 30, imagesSeen: 30000, optimizer: {},
    runKey: { seed: 0, examples, identity } });
  const thinet = path.join(root, 'thinet', 'small', 'cifar10', 'vgg16', 'seed0');
  stage(path.join(thinet, 'baseline'), baseline('thinet'), 72.85);
  stage(path.join(thinet, 'vgg16-conv', 'scratch-e'), scratch('thinet', 'vgg16-conv', 'structured thinet 2'), 60.55, 'checkpoint');
  stage(path.join(root, 'slimming', 'baseline-sparsity'),
    baseline('slimming', { hooks: { id: 'sparsity', params: {} } }), 70);
  const mine = path.join(root, 'regression', 'small', 'cifar10', 'vgg16', 'seed0');

  it('finds the other method\'s stage of the same training, and none for a different one', () => {
    expect(findReusable([root], path.join(mine, 'baseline'), baseline('regression'), subset)).toBe(path.join(thinet, 'baseline'));
    // Its data sizes from its checkpoint, where its result (older) has none.
    expect(findReusable([root], path.join(mine, 'vgg16-50', 'scratch-e'),
      scratch('regression', 'vgg16-50', 'structured regression 1'), subset)).toBe(path.join(thinet, 'vgg16-conv', 'scratch-e'));
    expect(findReusable([root], path.join(mine, 'baseline'), baseline('regression', { seed: 1 }), subset)).toBeUndefined();
    expect(findReusable([root], path.join(mine, 'baseline-sparsity'),
      baseline('slimming', { hooks: { id: 'sparsity', params: {} } }), subset)).toBeUndefined();
    // Not itself.
    expect(findReusable([root], path.join(thinet, 'baseline'), baseline('thinet'), subset)).toBeUndefined();
  });

  it('none trained on data of other sizes (the same data set\'s name, another folder)', () => {
    expect(findReusable([root], path.join(mine, 'baseline'), baseline('regression'), { train: 50000, test: 10000 }))
      .toBeUndefined();
  });

  it('passes a result that is no finished training, and a copy being made', () => {
    const other = fs.mkdtempSync(path.join(os.tmpdir(), 'reuse-other-'));
    fs.mkdirSync(path.join(other, 'half'), { recursive: true });
    fs.writeFileSync(path.join(other, 'half', 'result.json'), JSON.stringify({ identity: baseline('l1-norm') }));
    fs.mkdirSync(path.join(other, 'baseline.copying'), { recursive: true });
    fs.writeFileSync(path.join(other, 'baseline.copying', 'result.json'),
      JSON.stringify({ bestTop1: 1, final: { top1: 1 }, identity: baseline('l1-norm'), examples: subset }));
    fs.mkdirSync(path.join(other, 'torn'), { recursive: true });
    fs.writeFileSync(path.join(other, 'torn', 'result.json'), '{"bestTop1": 7');
    expect(findReusable([other], path.join(mine, 'baseline'), baseline('regression'), subset)).toBeUndefined();
    fs.rmSync(other, { recursive: true, force: true });
  });

  it('none where the stage\'s own directory holds a checkpoint of another run: that one stops the run as stale', () => {
    const dir = path.join(mine, 'stale', 'baseline');
    fs.mkdirSync(path.join(dir, 'checkpoint'), { recursive: true });
    fs.writeFileSync(path.join(dir, 'checkpoint', 'state.json'),
      JSON.stringify(state(baseline('regression', { recipe: { epochs: 30, lr: 0.05 } }))));
    expect(findReusable([root], dir, baseline('regression'), subset)).toBeUndefined();
  });

  it('copies it under the asking identity, without its checkpoint, over an interrupted run, naming its source', () => {
    const dir = path.join(root, 'regression', 'seed0', 'baseline');
    fs.mkdirSync(path.join(dir, 'checkpoint'), { recursive: true });
    fs.writeFileSync(path.join(dir, 'checkpoint', 'state.json'), JSON.stringify(state(baseline('regression'))));
    expect(copyStage(path.join(thinet, 'baseline'), dir, baseline('regression'))).toBe(true);
    expect(fs.readdirSync(dir).sort()).toEqual(['best', 'result.json']);
    expect(fs.readFileSync(path.join(dir, 'best', 'weights.bin'), 'utf8')).toBe('weights 72.85');
    const result = JSON.parse(fs.readFileSync(path.join(dir, 'result.json'), 'utf8'));
    expect(result.identity.method).toBe('regression');
    expect(result.bestTop1).toBe(72.85);
    expect(result.reusedFrom.method).toBe('thinet');
    expect(path.resolve(result.reusedFrom.dir)).toBe(path.join(thinet, 'baseline'));
    // A copy of a copy names the stage that trained; the checkpoint's data sizes travel in the copy's result.
    const again = path.join(root, 'l1', 'scratch-e');
    expect(copyStage(path.join(thinet, 'vgg16-conv', 'scratch-e'), again, scratch('l1-norm', 'x', 'structured l1 1'))).toBe(true);
    const copied = JSON.parse(fs.readFileSync(path.join(again, 'result.json'), 'utf8'));
    expect([copied.reusedFrom.method, copied.examples]).toEqual(['thinet', subset]);
  });

  it('leaves the directory as it was where the source is gone', () => {
    const dir = path.join(root, 'kept');
    fs.mkdirSync(dir, { recursive: true });
    fs.writeFileSync(path.join(dir, 'keep.txt'), 'mine');
    expect(copyStage(path.join(root, 'gone'), dir, baseline('regression'))).toBe(false);
    expect(fs.readdirSync(dir)).toEqual(['keep.txt']);
  });
});
