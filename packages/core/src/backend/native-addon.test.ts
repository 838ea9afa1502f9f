import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { NATIVE_ADDON, NATIVE_ENV, NATIVE_PROTOCOL } from './kernels/native-conv';

interface BuildScript {
  findOneDnnInclude(): string | undefined;
  headerVersion(include: string): string;
  buildHash(sourceText: string, args: string[], include: string): string;
  needsBuild(addonPath: string, stampPath: string, hash: string): boolean;
}
// The install script itself says where oneDNN's headers are: the same rule decides whether it builds.
const buildScript = require('../../scripts/build-native.js') as BuildScript;
const oneDnnInclude = buildScript.findOneDnnInclude();
const optedOut = process.env[NATIVE_ENV] === '0';

/** A fresh copy of native-conv.ts, so its load-once state starts empty. */
async function freshNativeConvModule(): Promise<typeof import('./kernels/native-conv')> {
  vi.resetModules();
  return import('./kernels/native-conv');
}

afterEach(() => vi.restoreAllMocks());

describe('the native oneDNN addon', () => {
  it.skipIf(!oneDnnInclude || optedOut)('is built and loads wherever oneDNN headers are installed', async () => {
    const fix = `oneDNN headers are in ${oneDnnInclude}: run \`npx nx run core:build-native\` and read its output`;
    expect(fs.existsSync(NATIVE_ADDON), `${NATIVE_ADDON} is missing; ${fix}`).toBe(true);
    const { nativeConv, nativeConvUnavailableReason } = await freshNativeConvModule();
    const lib = nativeConv(1);
    expect(lib, `the addon does not load (${nativeConvUnavailableReason()}); ${fix}`).not.toBeNull();
    expect(lib!.protocol()).toBe(NATIVE_PROTOCOL);
    // The library it links must be the one whose headers it was compiled against.
    expect(lib!.version()).toBe(buildScript.headerVersion(oneDnnInclude!));
  });

  it('prints why a present addon fails to load, once, on one line', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'native-conv-'));
    const broken = path.join(dir, 'onednn-conv.node');
    fs.writeFileSync(broken, 'not a shared object');
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => undefined);
    const { nativeConv, nativeConvUnavailableReason } = await freshNativeConvModule();
    expect(nativeConv(1, broken)).toBeNull();
    expect(nativeConv(1, broken)).toBeNull();
    expect(warn).toHaveBeenCalledTimes(1);
    const line = String(warn.mock.calls[0][0]);
    expect(line).toMatch(/native convolutions not used: .*onednn-conv\.node/);
    expect(line).not.toContain('\n');
    expect(nativeConvUnavailableReason()).toContain(broken);
  });

  it('refuses an addon built for another calling convention and says how to rebuild it', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'native-conv-'));
    const stale = path.join(dir, 'stale-addon.js');
    fs.writeFileSync(stale, 'module.exports = { version: () => "2.6.3", protocol: () => 1 };');
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => undefined);
    const { nativeConv } = await freshNativeConvModule();
    expect(nativeConv(1, stale)).toBeNull();
    expect(warn).toHaveBeenCalledTimes(1);
    expect(String(warn.mock.calls[0][0]))
      .toMatch(new RegExp(`stale \\(protocol 1, want ${NATIVE_PROTOCOL}\\).*npx nx run core:build-native`));
  });

  it('stays quiet where no addon was built', async () => {
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => undefined);
    const { nativeConv, nativeConvUnavailableReason } = await freshNativeConvModule();
    expect(nativeConv(1, path.join(os.tmpdir(), 'no-such-dir', 'onednn-conv.node'))).toBeNull();
    expect(warn).not.toHaveBeenCalled();
    expect(nativeConvUnavailableReason()).toBe('not built');
  });
});

describe('build-native.js decides when to rebuild', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'build-native-'));
  const addon = path.join(dir, 'onednn-conv.node');
  const stamp = path.join(dir, 'onednn-conv.stamp');

  it('builds when the addon or its stamp is missing', () => {
    fs.rmSync(addon, { force: true });
    fs.writeFileSync(stamp, 'abc\n');
    expect(buildScript.needsBuild(addon, stamp, 'abc')).toBe(true);
    fs.writeFileSync(addon, '');
    fs.rmSync(stamp);
    expect(buildScript.needsBuild(addon, stamp, 'abc')).toBe(true);
  });

  it('rebuilds when the stamp holds another hash, not when it matches', () => {
    fs.writeFileSync(addon, '');
    fs.writeFileSync(stamp, 'abc\n');
    expect(buildScript.needsBuild(addon, stamp, 'abc')).toBe(false);
    expect(buildScript.needsBuild(addon, stamp, 'abd')).toBe(true);
  });

  it('hashes a one-character change of the source or of the flags to another value', () => {
    const include = oneDnnInclude ?? dir;
    const base = buildScript.buildHash('int x = 1;', ['-O2'], include);
    expect(buildScript.buildHash('int x = 2;', ['-O2'], include)).not.toBe(base);
    expect(buildScript.buildHash('int x = 1;', ['-O3'], include)).not.toBe(base);
    expect(buildScript.buildHash('int x = 1;', ['-O2'], include)).toBe(base);
  });
});
