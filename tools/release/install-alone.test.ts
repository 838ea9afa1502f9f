import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { describe, expect, it } from 'vitest';

// eslint-disable-next-line @typescript-eslint/no-require-imports
const { linkTree, leftOverPackages } = require('./install-alone.js') as {
  linkTree: (from: string, to: string) => void;
  leftOverPackages: (app: string) => string[];
};

/** An app folder with these package folders (and a package.json in each) and a lockfile listing `locked`. */
function fakeApp(installed: string[], locked: string[]): string {
  const app = fs.mkdtempSync(path.join(os.tmpdir(), 'install-alone-test-'));
  for (const pkg of installed) {
    fs.mkdirSync(path.join(app, pkg), { recursive: true });
    fs.writeFileSync(path.join(app, pkg, 'package.json'), '{}');
  }
  const packages = Object.fromEntries(['', ...locked].map((p) => [p, {}]));
  fs.writeFileSync(path.join(app, 'package-lock.json'), JSON.stringify({ lockfileVersion: 3, packages }));
  return app;
}

describe('install-alone: starting from packages an earlier check installed', () => {
  it('names every installed package its own lockfile lacks, scoped and nested ones too, and drops emptied scopes', () => {
    const app = fakeApp(
      ['node_modules/a', 'node_modules/@s/b', 'node_modules/a/node_modules/c', 'node_modules/bullmq',
        'node_modules/@t/d', 'node_modules/a/node_modules/e'],
      ['node_modules/a', 'node_modules/@s/b', 'node_modules/a/node_modules/c'],
    );
    fs.mkdirSync(path.join(app, 'node_modules', '@emptied'));
    expect(leftOverPackages(app).sort()).toEqual(
      ['node_modules/@t/d', 'node_modules/a/node_modules/e', 'node_modules/bullmq']);
    expect(fs.existsSync(path.join(app, 'node_modules', '@emptied'))).toBe(false);
  });

  it('finds nothing left over when the folders are exactly the lockfile', () => {
    const tree = ['node_modules/a', 'node_modules/@s/b', 'node_modules/a/node_modules/c'];
    expect(leftOverPackages(fakeApp(tree, tree))).toEqual([]);
  });

  it('copies a tree as hard links, and symlinks as symlinks', () => {
    const from = fakeApp(['node_modules/a'], []);
    fs.mkdirSync(path.join(from, 'node_modules', '.bin'));
    fs.symlinkSync('../a/package.json', path.join(from, 'node_modules', '.bin', 'a'));
    const to = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'install-alone-test-')), 'node_modules');
    linkTree(path.join(from, 'node_modules'), to);
    const [source, copy] = [from, path.dirname(to)].map((root) => path.join(root, 'node_modules', 'a', 'package.json'));
    expect(fs.statSync(copy).ino).toBe(fs.statSync(source).ino);
    expect(fs.readlinkSync(path.join(to, '.bin', 'a'))).toBe('../a/package.json');
  });
});
