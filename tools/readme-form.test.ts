import * as fs from 'fs';
import * as path from 'path';
import { describe, expect, it } from 'vitest';

/** Every method package's README in one form: how to run it, its API, its algorithm, and how it differs from the seed. */
const packagesDir = path.join(__dirname, '..', 'packages');
const methodPackages = fs.readdirSync(packagesDir)
  .filter((name) => name.startsWith('method-') || name === 'lottery-ticket');

describe('method package READMEs', () => {
  it('are eight', () => expect(methodPackages).toHaveLength(8));

  it.each(methodPackages)('%s: install-and-run commands, ## API with code, the algorithm, Differences from the seed', (name) => {
    const readme = fs.readFileSync(path.join(packagesDir, name, 'README.md'), 'utf8');
    const bin = Object.keys(JSON.parse(fs.readFileSync(path.join(packagesDir, name, 'package.json'), 'utf8')).bin)[0];
    expect(readme).toMatch(new RegExp('```bash[\\s\\S]*npx ' + bin + ' '));
    expect(readme).toMatch(/^## API\n\n```ts\n/m);
    expect(readme).toMatch(/^## (The algorithm|What runs|How it works)/m);
    expect(readme).toMatch(/^## Differences from the seed/m);
  });
});
