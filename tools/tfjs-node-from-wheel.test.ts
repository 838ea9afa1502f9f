import { execFileSync, spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { describe, expect, it } from 'vitest';

const DRIVER = path.join(__dirname, 'tfjs-node-from-wheel.js');
const LAYOUT = path.join(__dirname, 'tfjs-node-from-wheel.py');
const tmp = () => fs.mkdtempSync(path.join(os.tmpdir(), 'from-wheel-'));

/** Writes a zip with the given members through Python's zipfile, the reader the layout helper uses. */
function fakeWheel(dir: string, members: Record<string, string>): string {
  const wheel = path.join(dir, 'tensorflow_cpu-9.9.9-cp311-cp311-manylinux_2_27_x86_64.whl');
  const script = 'import json, sys, zipfile\nwith zipfile.ZipFile(sys.argv[1], "w") as z:\n' +
    '    for name, text in json.loads(sys.argv[2]).items(): z.writestr(name, text)';
  execFileSync('python3', ['-c', script, wheel, JSON.stringify(members)]);
  return wheel;
}

const HEADERS = {
  'tensorflow/include/tensorflow/c/c_api.h': '#include <stdint.h>\n#include "tensorflow/c/tf_status.h"\n',
  'tensorflow/include/tensorflow/c/tf_status.h': '  #  include "tsl/c/status.h"\n',
  'tensorflow/include/tsl/c/status.h': '/* leaf */\n',
  'tensorflow/include/absl/unrelated.h': '/* not reached from c_api.h */\n',
};

describe('tfjs-node-from-wheel.py: the deps layout', () => {
  it('lays out both libraries under the names tfjs-node links and checks, and only the headers reached', () => {
    const dir = tmp();
    const wheel = fakeWheel(dir, {
      ...HEADERS, 'tensorflow/libtensorflow_cc.so.2': 'cc', 'tensorflow/libtensorflow_framework.so.2': 'fw',
    });
    const deps = path.join(dir, 'deps');
    execFileSync('python3', [LAYOUT, wheel, deps, 'tensorflow/c/c_api.h'], { stdio: 'pipe' });
    // binding.gyp links -ltensorflow -ltensorflow_framework; scripts/install.js checks libtensorflow.so.2.9.1.
    const read = (name: string) => fs.readFileSync(path.join(deps, 'lib', name), 'utf8');
    const ccNames = ['libtensorflow.so', 'libtensorflow.so.2', 'libtensorflow.so.2.9.1', 'libtensorflow_cc.so.2'];
    for (const name of ccNames) expect(read(name)).toBe('cc');
    const frameworkNames =
      ['libtensorflow_framework.so', 'libtensorflow_framework.so.2', 'libtensorflow_framework.so.2.9.1'];
    for (const name of frameworkNames) expect(read(name)).toBe('fw');
    const headers = execFileSync('find', ['.', '-type', 'f'],
      { cwd: path.join(deps, 'include'), encoding: 'utf8' });
    expect(headers.trim().split('\n').sort()).toEqual(
      ['./tensorflow/c/c_api.h', './tensorflow/c/tf_status.h', './tsl/c/status.h']);
  });

  it('names the wheel and the member when the wheel lacks a library or a header the binding needs', () => {
    const dir = tmp();
    const noLibrary = fakeWheel(dir, HEADERS);
    const first = spawnSync('python3', [LAYOUT, noLibrary, path.join(dir, 'a'), 'tensorflow/c/c_api.h'],
      { encoding: 'utf8' });
    expect(first.status).toBe(1);
    expect(first.stderr).toContain(`${noLibrary}: has no tensorflow/libtensorflow_cc.so.2`);
    const noHeader = fakeWheel(dir, {
      'tensorflow/libtensorflow_cc.so.2': 'cc', 'tensorflow/libtensorflow_framework.so.2': 'fw' });
    const second = spawnSync('python3', [LAYOUT, noHeader, path.join(dir, 'b'), 'tensorflow/c/c_api.h'],
      { encoding: 'utf8' });
    expect(second.status).toBe(1);
    expect(second.stderr)
      .toContain('has no tensorflow/include/tensorflow/c/c_api.h, which the tfjs-node binding includes');
  });
});

describe('tfjs-node-from-wheel.js', () => {
  it('exits 3 with the fix, and touches nothing, when pip cannot get the wheel', () => {
    const root = tmp();
    const lock = { packages: { 'node_modules/@tensorflow/tfjs-node': { version: '4.22.0' } } };
    fs.writeFileSync(path.join(root, 'package-lock.json'), JSON.stringify(lock));
    const emptyIndex = tmp();
    // No index and an empty find-links folder: pip can find nothing, and fails fast.
    const env = { ...process.env, PIP_NO_INDEX: '1', PIP_FIND_LINKS: emptyIndex, PIP_CONFIG_FILE: os.devNull };
    const result = spawnSync(process.execPath, [DRIVER, '--root', root, '--tf-version', '0.0.1'],
      { encoding: 'utf8', env });
    expect(result.status).toBe(3);
    expect(result.stderr).toContain('pip cannot get the tensorflow-cpu==0.0.1 wheel');
    expect(result.stderr).toContain(`copy the wheel into ${path.join(root, '.cache', 'tfjs-node-wheel')}/`);
    expect(fs.existsSync(path.join(root, 'node_modules'))).toBe(false);
  }, 60_000);

  it('--wheel-only gives the cached wheel and nothing else: no lockfile, no node_modules, no pip', () => {
    const root = tmp();
    const cache = path.join(root, '.cache', 'tfjs-node-wheel');
    fs.mkdirSync(cache, { recursive: true });
    const wheel = fakeWheel(cache, {});
    // pip would fail here (no index): the wheel must come from the cache.
    const env = { ...process.env, PIP_NO_INDEX: '1', PIP_FIND_LINKS: tmp(), PIP_CONFIG_FILE: os.devNull };
    const result = spawnSync(process.execPath, [DRIVER, '--wheel-only', '--root', root, '--tf-version', '9.9.9'],
      { encoding: 'utf8', env });
    expect(result.status).toBe(0);
    expect(result.stdout).toBe(`${wheel}\n`);
    expect(fs.readdirSync(root)).toEqual(['.cache']);
    const missing = spawnSync(process.execPath, [DRIVER, '--wheel-only', '--root', root, '--tf-version', '0.0.1'],
      { encoding: 'utf8', env });
    expect(missing.status).toBe(3);
    expect(missing.stderr).toContain('pip cannot get the tensorflow-cpu==0.0.1 wheel');
  }, 60_000);

  it('exits 2 with its usage on an unknown option', () => {
    const result = spawnSync(process.execPath, [DRIVER, '--tf-version', 'latest'], { encoding: 'utf8' });
    expect(result.status).toBe(2);
    expect(result.stderr)
      .toMatch(/unknown or incomplete option '--tf-version'[^]*Usage: node tools\/tfjs-node-from-wheel/);
    const gpu = spawnSync(process.execPath, [DRIVER, '--package', 'tfjs-node-cuda'], { encoding: 'utf8' });
    expect(gpu.status).toBe(2);
    expect(gpu.stderr).toMatch(/unknown or incomplete option '--package' \(.*--package tfjs-node or tfjs-node-gpu\)/);
  });
});
