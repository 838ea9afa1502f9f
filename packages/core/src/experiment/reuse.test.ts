import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { describe, expect, it } from 'vitest';
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
  const stage = (dir: string, identity: Record<string, unknown>, top1: number) => {
    fs.mkdirSync(path.join(dir, 'best'), { recursive: true });
    fs.mkdirSync(path.join(dir, 'checkpoint'), { recursive: true });
    fs.writeFileSync(path.join(dir, 'best', 'weights.bin'), `weights ${top1}`);
    fs.writeFileSync(path.join(dir, 'checkpoint', 'state.json'), '{}');
    fs.writeFileSync(path.join(dir, 'result.json'), JSON.stringify({ bestTop1: top1, final: { top1 }, identity }));
  };
  const thinet = path.join(root, 'thinet', 'small', 'cifar10', 'vgg16', 'seed0');
  stage(path.join(thinet, 'baseline'), baseline('thinet'), 72.85);
  stage(path.join(thinet, 'vgg16-conv', 'scratch-e'), scratch('thinet', 'vgg16-conv', 'structured thinet 2'), 60.55);
  stage(path.join(root, 'slimming', 'baseline-sparsity'),
    baseline('slimming', { hooks: { id: 'sparsity', params: {} } }), 70);

  it('finds the other method\'s stage of the same training, and none for a different one', () => {
    const mine = path.join(root, 'regression', 'small', 'cifar10', 'vgg16', 'seed0');
    expect(findReusable([root], path.join(mine, 'baseline'), baseline('regression'))).toBe(path.join(thinet, 'baseline'));
    expect(findReusable([root], path.join(mine, 'vgg16-50', 'scratch-e'),
      scratch('regression', 'vgg16-50', 'structured regression 1'))).toBe(path.join(thinet, 'vgg16-conv', 'scratch-e'));
    expect(findReusable([root], path.join(mine, 'baseline'), baseline('regression', { seed: 1 }))).toBeUndefined();
    expect(findReusable([root], path.join(mine, 'baseline-sparsity'),
      baseline('slimming', { hooks: { id: 'sparsity', params: {} } }))).toBeUndefined();
    // Not itself.
    expect(findReusable([root], path.join(thinet, 'baseline'), baseline('thinet'))).toBeUndefined();
  });

  it('copies it under the asking identity, without its checkpoint, over an interrupted run, naming its source', () => {
    const dir = path.join(root, 'regression', 'seed0', 'baseline');
    fs.mkdirSync(path.join(dir, 'checkpoint'), { recursive: true });
    fs.writeFileSync(path.join(dir, 'checkpoint', 'epoch-13.json'), '{}');
    copyStage(path.join(thinet, 'baseline'), dir, baseline('regression'));
    expect(fs.readdirSync(dir).sort()).toEqual(['best', 'result.json']);
    expect(fs.readFileSync(path.join(dir, 'best', 'weights.bin'), 'utf8')).toBe('weights 72.85');
    const result = JSON.parse(fs.readFileSync(path.join(dir, 'result.json'), 'utf8'));
    expect(result.identity.method).toBe('regression');
    expect(result.bestTop1).toBe(72.85);
    expect(result.reusedFrom.method).toBe('thinet');
    expect(path.resolve(result.reusedFrom.dir)).toBe(path.join(thinet, 'baseline'));
    // A copy of a copy names the stage that trained.
    const again = path.join(root, 'l1', 'baseline');
    copyStage(dir, again, baseline('l1-norm'));
    expect(JSON.parse(fs.readFileSync(path.join(again, 'result.json'), 'utf8')).reusedFrom.method).toBe('thinet');
  });
});
