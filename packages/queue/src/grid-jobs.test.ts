import { PROFILES, type MethodDefinition, type MethodVariant } from '@rethink-prune/core';
import type { FlowJob } from 'bullmq';
import { describe, expect, it } from 'vitest';
import { gridFlow, gridJobs, type JobGrid } from './grid-jobs';

// A method in a few lines: two variants of one model, and a published architecture trained from scratch only.
const method = (version = '1'): MethodDefinition<MethodVariant & { keep: number }> => ({
  name: 'toy', command: 'prune-toy', title: 'toy', reference: [], defaultVariants: () => ['a'],
  variants: {
    a: { base: 'vgg11', keep: 0.5 },
    b: { base: 'vgg11', keep: 0.25 },
    arch: { base: 'vgg11', keep: 1, architecture: { arch: 'vgg', dataset: 'cifar10', cfg: [8, 'M', 8], classifier: 'linear' } },
  },
  pruner: { kind: 'structured', version, keepSets: () => ({}) },
});
const grid = (o: Partial<JobGrid> = {}): JobGrid => ({ profile: PROFILES.smoke, dataset: 'fashion-mnist',
  variants: ['a', 'b'], seeds: 1, runDir: 'runs/toy', fresh: false, ...o });
const labels = (jobs: ReturnType<typeof gridJobs>) => jobs.map((j) => j.data.label);

describe('gridJobs', () => {
  it('one baseline per model and seed, shared by its variants; then prune → fine-tune, Scratch-E → Scratch-B; the report last', () => {
    const jobs = gridJobs(method(), '@x/toy', grid({ seeds: 2 }));
    expect(labels(jobs)).toEqual([
      'toy vgg11 seed0 baseline', 'toy a seed0 prune', 'toy a seed0 finetune', 'toy a seed0 scratch-e', 'toy a seed0 scratch-b',
      'toy b seed0 prune', 'toy b seed0 finetune', 'toy b seed0 scratch-e', 'toy b seed0 scratch-b',
      'toy vgg11 seed1 baseline', 'toy a seed1 prune', 'toy a seed1 finetune', 'toy a seed1 scratch-e', 'toy a seed1 scratch-b',
      'toy b seed1 prune', 'toy b seed1 finetune', 'toy b seed1 scratch-e', 'toy b seed1 scratch-b',
      'toy a,b report',
    ]);
    const id = (label: string) => jobs.find((j) => j.data.label === label)!.id;
    expect(jobs.find((j) => j.data.label === 'toy a seed0 prune')!.data.needs).toEqual([id('toy vgg11 seed0 baseline')]);
    expect(jobs.find((j) => j.data.label === 'toy b seed0 prune')!.data.needs).toEqual([id('toy vgg11 seed0 baseline')]);
    for (const s of ['finetune', 'scratch-e']) {
      expect(jobs.find((j) => j.data.label === `toy b seed1 ${s}`)!.data.needs).toEqual([id('toy b seed1 prune')]);
    }
    // Scratch-B starts from the state Scratch-E keeps where their LRs part.
    expect(jobs.find((j) => j.data.label === 'toy b seed1 scratch-b')!.data.needs).toEqual([id('toy b seed1 scratch-e')]);
    const report = jobs[jobs.length - 1].data;
    expect(report.needs).toHaveLength(12);
    expect(report.needs).not.toContain(id('toy a seed0 prune'));
    expect(jobs[0].data).toMatchObject({ methodPackage: '@x/toy', command: 'prune-toy', stage: 'baseline', variant: 'a', seed: 0 });
    expect(jobs[0].id).toMatch(/^toy\.smoke\.fashion-mnist\.vgg11\.seed0\.baseline\.[0-9a-f]{12}$/);
  });

  it('a published architecture has no prune and no fine-tune: Scratch-E needs the baseline, Scratch-B Scratch-E', () => {
    const jobs = gridJobs(method(), '@x/toy', grid({ variants: ['arch'] }));
    expect(labels(jobs)).toEqual(['toy vgg11 seed0 baseline', 'toy arch seed0 scratch-e', 'toy arch seed0 scratch-b', 'toy arch report']);
    expect(jobs[1].data.needs).toEqual([jobs[0].id]);
    expect(jobs[2].data.needs).toEqual([jobs[1].id]);
  });

  it('a second baseline of the same model and seed (other hooks) waits for the first: they share the plain baseline', () => {
    const hooked = { ...method(), plainBaseline: true,
      training: (stage: string, v: MethodVariant & { keep: number }) => (stage === 'baseline' ? { id: `h${v.keep}`, hooks: () => ({}) } : undefined) };
    const jobs = gridJobs(hooked, '@x/toy', grid());
    const baselines = jobs.filter((j) => j.data.stage === 'baseline');
    expect(baselines.map((j) => [j.data.variant, j.data.needs])).toEqual([['a', []], ['b', [baselines[0].id]]]);
  });

  it('ids are stable, and change with whatever decides a result', () => {
    const ids = (m = method(), g = grid()) => gridJobs(m, '@x/toy', g).map((j) => j.id);
    expect(ids()).toEqual(ids());
    const base = ids();
    const changed = (other: string[]) => other.filter((id, i) => id !== base[i]).length;
    expect(changed(ids(method(), grid({ profile: { ...PROFILES.smoke, epochs: 2 } })))).toBe(base.length);
    expect(changed(ids(method(), grid({ runDir: 'elsewhere' })))).toBe(base.length);
    expect(changed(ids(method(), grid({ fresh: true })))).toBe(base.length);
    expect(changed(ids(method('2')))).toBe(base.length);
    // Another variant list changes only the report; a second seed keeps seed 0's jobs.
    expect(changed(ids(method(), grid({ variants: ['a', 'b'], seeds: 2 })).slice(0, 9).concat(base[9]))).toBe(0);
  });
});

/** A flow as `report(child(grandchild), ...)`, labels without the method's name. */
const shape = (f: FlowJob): string => {
  const name = (f.data.label as string).replace(/^toy /, '');
  return f.children ? `${name}(${f.children.map(shape).join(', ')})` : name;
};

describe('gridFlow', () => {
  const jobs = gridJobs(method(), '@x/toy', grid());
  const options = { attempts: 3, backoffMs: 100 };

  it('hangs every job under the first that needs it, under the report; the rest wait by their needs', () => {
    expect(shape(gridFlow(jobs, new Set(), options)!)).toBe('a,b report(' +
      'a seed0 finetune(a seed0 prune(vgg11 seed0 baseline)), a seed0 scratch-e, a seed0 scratch-b, ' +
      'b seed0 finetune(b seed0 prune), b seed0 scratch-e, b seed0 scratch-b)');
    expect(gridFlow(jobs, new Set(), options)!.opts).toEqual(
      { jobId: jobs[jobs.length - 1].id, attempts: 3, backoff: { type: 'fixed', delay: 100 } });
  });

  it('leaves out jobs already on the queue, and adds nothing when the report is there', () => {
    const queued = new Set([jobs[0].id, jobs[1].id]); // the baseline and a's prune
    expect(shape(gridFlow(jobs, queued, options)!)).toBe('a,b report(' +
      'a seed0 finetune, a seed0 scratch-e, a seed0 scratch-b, b seed0 finetune(b seed0 prune), b seed0 scratch-e, b seed0 scratch-b)');
    expect(gridFlow(jobs, new Set([jobs[jobs.length - 1].id]), options)).toBeUndefined();
  });

  it('hangs a job that only queued jobs need under the report', () => {
    const queued = new Set(jobs.filter((j) => j.data.stage === 'prune').map((j) => j.id)); // baseline removed by hand
    expect(shape(gridFlow(jobs, queued, options)!)).toBe('a,b report(' +
      'a seed0 finetune, a seed0 scratch-e, a seed0 scratch-b, b seed0 finetune, b seed0 scratch-e, b seed0 scratch-b, ' +
      'vgg11 seed0 baseline)');
  });
});
