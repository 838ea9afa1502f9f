import { describe, expect, it } from 'vitest';
import { collectGarbage } from './collect-garbage';

describe('collectGarbage', () => {
  it('collects an unreachable typed array at once (its WeakRef is cleared)', async () => {
    // A WeakRef holds its target through the job that made or read it: each step below runs in a new one.
    const nextJob = () => new Promise((resolve) => setTimeout(resolve, 0));
    const ref = (() => new WeakRef(new Float32Array(1 << 22).fill(1)))();
    await nextJob();
    expect(ref.deref()).toBeDefined(); // nothing collected it by itself
    await nextJob();
    collectGarbage();
    expect(ref.deref()).toBeUndefined();
  });
});
