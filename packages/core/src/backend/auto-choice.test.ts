import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { describe, expect, it } from 'vitest';
import { autoKey, chooseByMeasurement, describeChoice, measureInChild, type AutoPath } from './auto-choice';

const tmpCache = () => path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'auto-')), 'auto-backend.json');

describe('auto by measurement', () => {
  const speeds: Partial<Record<AutoPath, number>> = { 'wasm+native': 48.1, 'tfjs-node': 14.2, wasm: 11.9 };
  const measured: AutoPath[] = [];
  const measure = (p: AutoPath) => {
    measured.push(p);
    if (speeds[p] === undefined) throw new Error(`backend ${p} is unavailable: no binding`);
    return speeds[p]!;
  };

  it('takes the fastest path, says why, and caches the choice under its key', () => {
    const cacheFile = tmpCache();
    const candidates: AutoPath[] = ['tfjs-node-gpu', 'wasm+native', 'tfjs-node', 'wasm'];
    const choice = chooseByMeasurement({ family: 'resnet', key: 'k1', candidates, measure, cacheFile });
    expect(choice.path).toBe('wasm+native');
    expect(choice.measured).toEqual({ 'tfjs-node-gpu': 'backend tfjs-node-gpu is unavailable: no binding',
      'wasm+native': 48.1, 'tfjs-node': 14.2, wasm: 11.9 });
    expect(describeChoice(choice)).toBe('auto chose wasm+native: 48.1 img/s training a narrow resnet ' +
      '(tfjs-node-gpu: backend tfjs-node-gpu is unavailable: no binding; tfjs-node 14.2; wasm 11.9), measured now');
    measured.length = 0;
    const again = chooseByMeasurement({ family: 'resnet', key: 'k1', candidates, measure, cacheFile });
    expect([again.path, again.cached, measured.length]).toEqual(['wasm+native', true, 0]);
    expect(describeChoice(again)).toMatch(/, measured \d{4}-\d\d-\d\dT.*, cached$/);
    // Another key (another family, thread count or library build) is measured afresh.
    chooseByMeasurement({ family: 'vgg', key: 'k2', candidates, measure, cacheFile });
    expect(measured).toEqual(candidates);
    expect(Object.keys(JSON.parse(fs.readFileSync(cacheFile, 'utf8')))).toEqual(['k1', 'k2']);
  });

  it('measures again when the cached path is no longer installed, and fails when nothing runs', () => {
    const cacheFile = tmpCache();
    chooseByMeasurement({ family: 'vgg', key: 'k', candidates: ['wasm+native', 'wasm'], measure, cacheFile });
    const without = chooseByMeasurement({ family: 'vgg', key: 'k', candidates: ['tfjs-node', 'wasm'], measure, cacheFile });
    expect([without.path, without.cached]).toEqual(['tfjs-node', false]);
    expect(() => chooseByMeasurement({ family: 'vgg', key: 'x', candidates: ['tfjs-node-gpu'], measure, cacheFile }))
      .toThrow(/no training path could be measured: .*tfjs-node-gpu is unavailable/);
  });

  it('keys the cache by CPU, cores, threads, node, libraries and family', () => {
    const key = autoKey('resnet', 2, { tfjs: '4.22.0', 'onednn-addon': 'none' });
    expect(key).toContain(os.cpus()[0].model);
    expect(key).toContain(`${os.cpus().length} cores, 2 threads`);
    expect(key).toMatch(/onednn-addon none, tfjs 4\.22\.0 \| resnet$/);
  });

  it('times a real path in its own process, and names why a path cannot start', () => {
    expect(measureInChild('wasm', 'vgg', 1)).toBeGreaterThan(0);
    expect(() => measureInChild('tfjs-node-gpu', 'vgg', 1)).toThrow(/tfjs-node-gpu/);
  }, 120_000);
});
