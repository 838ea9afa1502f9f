import { describe, expect, it } from 'vitest';
import { collectGarbage } from './collect-garbage';

describe('collectGarbage', () => {
  it('frees unreachable typed arrays at once', () => {
    collectGarbage();
    const before = process.memoryUsage().arrayBuffers;
    let garbage: Float32Array[] | undefined = Array.from({ length: 8 }, () => new Float32Array(1 << 20).fill(1));
    expect(process.memoryUsage().arrayBuffers - before).toBeGreaterThanOrEqual(30e6);
    garbage = undefined;
    expect(garbage).toBeUndefined();
    collectGarbage();
    expect(process.memoryUsage().arrayBuffers - before).toBeLessThan(2e6);
  });
});
