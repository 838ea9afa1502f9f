import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { afterEach, describe, expect, it } from 'vitest';
import setup from './vitest-tmpdir';

describe("the tests' temporary folder (vitest global setup)", () => {
  const before = { TMPDIR: process.env.TMPDIR, KEEP: process.env.RETHINK_PRUNE_KEEP_TEST_TMP };
  afterEach(() => {
    process.env.TMPDIR = before.TMPDIR;
    if (before.KEEP === undefined) delete process.env.RETHINK_PRUNE_KEEP_TEST_TMP;
    else process.env.RETHINK_PRUNE_KEEP_TEST_TMP = before.KEEP;
  });

  it("makes one folder under the system's temporary directory the run's os.tmpdir(), and removes it, contents too", () => {
    const parent = os.tmpdir();
    const teardown = setup();
    const dir = os.tmpdir();
    expect(path.dirname(dir)).toBe(parent);
    expect(path.basename(dir)).toMatch(/^rethink-prune-tests-/);
    fs.mkdirSync(path.join(dir, 'a', 'b'), { recursive: true });
    fs.writeFileSync(path.join(dir, 'a', 'b', 'file'), 'x');
    teardown();
    expect(fs.existsSync(dir)).toBe(false);
  });

  it('keeps the folder with RETHINK_PRUNE_KEEP_TEST_TMP=1', () => {
    process.env.RETHINK_PRUNE_KEEP_TEST_TMP = '1';
    const teardown = setup();
    const dir = os.tmpdir();
    teardown();
    expect(fs.existsSync(dir)).toBe(true);
    fs.rmSync(dir, { recursive: true });
  });
});
