import { execFileSync } from 'child_process';
import * as path from 'path';
import { afterAll, afterEach, describe, expect, it, vi } from 'vitest';
import { autoOrder, BackendError, initBackend, shutdownBackend } from './select';

afterAll(() => shutdownBackend());
afterEach(() => vi.unstubAllEnvs());

function installed(pkg: string): boolean {
  try {
    require(pkg);
    return true;
  } catch {
    return false;
  }
}

describe('initBackend', () => {
  it('auto tries the fastest training path first: wasm ahead of tfjs-node where the oneDNN kernels are built', () => {
    expect(autoOrder(true)).toEqual(['tfjs-node-gpu', 'wasm', 'tfjs-node', 'cpu']);
    expect(autoOrder(false)).toEqual(['tfjs-node-gpu', 'tfjs-node', 'wasm', 'cpu']);
  });

  it('rejects an unknown backend name and lists the valid ones', async () => {
    await expect(initBackend('webgpu')).rejects.toThrow(/unknown backend 'webgpu'.*tfjs-node-gpu, tfjs-node, wasm, cpu/);
  });

  it.skipIf(installed('@tensorflow/tfjs-node'))('says why a named native backend is unavailable, without falling back', async () => {
    const err = await initBackend('tfjs-node').catch((e) => e);
    expect(err).toBeInstanceOf(BackendError);
    expect(err.message).toMatch(/backend tfjs-node is unavailable: .*optional dependency/);
  });

  it('starts wasm with every core as threads and reports it', async () => {
    vi.stubEnv('RETHINK_PRUNE_THREADS', undefined); // .ci/run sets 1: many test processes share 2 cores
    const info = await initBackend('wasm');
    expect(info.name).toBe('wasm');
    expect(info.threads).toBe(Math.min(require('os').cpus().length, 64));
  });

  it('rejects a bad thread count from the environment', async () => {
    shutdownBackend();
    vi.stubEnv('RETHINK_PRUNE_THREADS', 'two');
    await expect(initBackend('wasm')).rejects.toThrow(/RETHINK_PRUNE_THREADS=two/);
  });

  it('a process that used threaded wasm exits on its own after shutdownBackend', () => {
    const script = `
      const tf = require('@tensorflow/tfjs');
      const { initBackend, shutdownBackend } = require(${JSON.stringify(path.join(__dirname, 'select.ts'))});
      initBackend('wasm').then((info) => {
        const y = tf.matMul(tf.ones([64, 64]), tf.ones([64, 64])).dataSync()[0];
        process.stdout.write([info.name, info.threads, y].join(' '));
        shutdownBackend();
      });`;
    const started = Date.now();
    vi.stubEnv('RETHINK_PRUNE_THREADS', undefined);
    const out = execFileSync(process.execPath, ['-r', 'ts-node/register/transpile-only', '-e', script], {
      encoding: 'utf8', timeout: 30_000, stdio: ['ignore', 'pipe', 'pipe'],
    });
    expect(out.trim()).toBe(`wasm ${require('os').cpus().length} 64`);
    expect(Date.now() - started).toBeLessThan(30_000);
  });
});
