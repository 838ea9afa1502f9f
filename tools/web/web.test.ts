import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
// core from source, as the other tools tests take it
import { writeModelFiles } from '../../packages/core/src/model-io';
import { pruneTracedModel, tracedKeepSets } from '../../packages/core/src/trace/prune-traced';
import { traceModel } from '../../packages/core/src/trace/traced-graph';
import { silenced } from '../../packages/core/src/test-util/silenced';
import { startServer } from './serve';

// The page in a real browser: Chromium from the system (Debian's `chromium`; CHROMIUM_PATH names another), driven by
// puppeteer-core. CI installs it and sets RETHINK_PRUNE_TEST_BROWSER=1, so that there the test cannot skip.
const chromium = [process.env.CHROMIUM_PATH, '/usr/bin/chromium', '/usr/bin/chromium-browser']
  .find((p): p is string => !!p && fs.existsSync(p));
const required = process.env.RETHINK_PRUNE_TEST_BROWSER === '1';

/** A small CNN with BNs whose statistics are not the defaults. */
function convNet(): tf.LayersModel {
  const model = tf.sequential({ layers: [
    tf.layers.conv2d({ name: 'c1', inputShape: [16, 16, 3], filters: 16, kernelSize: 3, padding: 'same', useBias: false }),
    tf.layers.batchNormalization({ name: 'b1' }), tf.layers.reLU({ name: 'r1' }),
    tf.layers.maxPooling2d({ name: 'p1', poolSize: 2 }),
    tf.layers.conv2d({ name: 'c2', filters: 24, kernelSize: 3, padding: 'same', useBias: false }),
    tf.layers.batchNormalization({ name: 'b2' }), tf.layers.reLU({ name: 'r2' }),
    tf.layers.globalAveragePooling2d({ name: 'gap' }), tf.layers.dense({ name: 'out', units: 10 }),
  ] });
  let seed = 1;
  for (const layer of model.layers.filter((l) => l.getClassName() === 'BatchNormalization')) {
    layer.setWeights(layer.getWeights().map((w, i) => tf.randomUniform(w.shape, i === 3 ? 0.5 : -1, i === 3 ? 2 : 1,
      'float32', seed++)));
  }
  return model;
}

describe('the comparison page in headless Chromium', () => {
  if (required && !chromium) {
    it('has a browser to run in', () => { throw new Error('RETHINK_PRUNE_TEST_BROWSER=1 but no Chromium found'); });
    return;
  }
  let server: { url: string; close: () => Promise<void> } | undefined;
  let expectedParams: { original: number; pruned: number };

  beforeAll(async () => {
    if (!chromium) return;
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'web-page-'));
    const original = convNet();
    const groups = traceModel(original);
    const keep = tracedKeepSets(original, groups, { criterion: 'l1', ratio: 0.5 });
    const pruned = await pruneTracedModel(original, groups, keep);
    // The original with the removed channels silent: the two must then predict the same in the browser.
    silenced(original, groups, keep);
    await writeModelFiles(path.join(dir, 'original'), original);
    await writeModelFiles(path.join(dir, 'pruned'), pruned);
    expectedParams = { original: original.countParams(), pruned: pruned.countParams() };
    server = await startServer({ original: path.join(dir, 'original'), pruned: path.join(dir, 'pruned') });
  }, 60_000);
  afterAll(async () => server?.close());

  it.skipIf(!chromium)('loads both models, measures each on WebGL and wasm, and they predict alike', async () => {
    const { launch } = await import('puppeteer-core');
    const browser = await launch({ executablePath: chromium!, headless: true,
      args: ['--no-sandbox', '--use-angle=swiftshader', '--enable-unsafe-swiftshader'] });
    try {
      const page = await browser.newPage();
      const errors: string[] = [];
      page.on('pageerror', (e) => errors.push(String(e)));
      page.on('console', (m) => { if (m.type() === 'error') errors.push(m.text()); });
      page.on('response', (r) => { if (r.status() >= 400) errors.push(`${r.status()} ${r.url()}`); });
      await page.goto(`${server!.url}?runs=5`);
      await page.waitForFunction('window.comparison !== undefined', { timeout: 90_000 });
      const results = JSON.parse(await page.evaluate('JSON.stringify(window.comparison)') as string) as Array<{ backend: string; available: boolean;
        maxDiff: number; models: Record<'original' | 'pruned', { params: number; ms: number }> }> | { error: string };
      expect(errors).toEqual([]);
      if (!Array.isArray(results)) throw new Error(`the page failed: ${results.error}`);
      const wasm = results.find((r) => r.backend === 'wasm');
      expect(wasm?.available).toBe(true);
      for (const r of results.filter((x) => x.available)) {
        expect(r.models.original.params).toBe(expectedParams.original);
        expect(r.models.pruned.params).toBe(expectedParams.pruned);
        expect(r.models.original.ms).toBeGreaterThan(0);
        expect(r.models.pruned.ms).toBeGreaterThan(0);
        expect(r.maxDiff).toBeLessThan(1e-4);
      }
      // The numbers are on the page: a table row per model and backend, and a bar per model in the chart.
      const text = await page.$eval('#results', (t) => t.textContent ?? '');
      expect(text).toContain(String(expectedParams.pruned));
      expect(await page.$$eval('#chart rect', (bars) => bars.length)).toBe(2 * results.filter((r) => r.available).length);
      expect(await page.$eval('#status', (s) => s.textContent)).toBe('done');
    } finally {
      await browser.close();
    }
  }, 120_000);
});
