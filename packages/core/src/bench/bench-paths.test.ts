import { describe, expect, it } from 'vitest';
import { BenchArgsError, parseBenchArgs, pathUnavailableReason } from './bench-paths';

describe('bench paths', () => {
  const nothingBuilt = { onednnAddon: false, tfjsNodeBinding: false };
  const everythingBuilt = { onednnAddon: true, tfjsNodeBinding: true };

  it('always has wasm; oneDNN and tfjs-node only when built, with the command that builds them', () => {
    expect(pathUnavailableReason('wasm', nothingBuilt)).toBeUndefined();
    expect(pathUnavailableReason('wasm+onednn', nothingBuilt)).toMatch(/onednn-conv\.node.*core:build-native/);
    expect(pathUnavailableReason('tfjs-node', nothingBuilt)).toMatch(/tfjs-node.*tfjs-node-from-wheel\.js/);
    for (const path of ['wasm', 'wasm+onednn', 'tfjs-node'] as const) {
      expect(pathUnavailableReason(path, everythingBuilt)).toBeUndefined();
    }
  });

  it('parses the parent and child command lines', () => {
    const deep = ['resnet56', 'resnet56/4'];
    expect(parseBenchArgs([])).toEqual({ seconds: 8, profile: false, help: false, models: deep });
    expect(parseBenchArgs(['--paths=wasm, tfjs-node', '--seconds=2.5', '--profile', '--models=resnet20/2'])).toEqual(
      { paths: ['wasm', 'tfjs-node'], seconds: 2.5, profile: true, help: false, models: ['resnet20/2'] });
    expect(parseBenchArgs(['--models=']).models).toEqual([]);
    expect(parseBenchArgs(['--path=wasm+onednn']).childPath).toBe('wasm+onednn');
  });

  it('rejects unknown paths, options and durations', () => {
    expect(() => parseBenchArgs(['--paths=wasm,webgl'])).toThrow(BenchArgsError);
    expect(() => parseBenchArgs(['--path=cpu'])).toThrow(/unknown path 'cpu'/);
    expect(() => parseBenchArgs(['--backend=wasm'])).toThrow(/unknown option/);
    expect(() => parseBenchArgs(['--seconds='])).toThrow(/--seconds/);
    expect(() => parseBenchArgs(['--seconds=-1'])).toThrow(/--seconds/);
    expect(() => parseBenchArgs(['--seconds=abc'])).toThrow(/--seconds/);
  });
});
