/**
 * Vitest global setup of every project: the tests' temporary folders, and those of the processes they start, go
 * into one folder per run, removed when the run ends (left in the system's temporary directory they came to
 * thousands of folders and tens of gigabytes on a developer's machine). RETHINK_PRUNE_KEEP_TEST_TMP=1 keeps it and
 * prints where.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

export default function setup(): () => void {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rethink-prune-tests-'));
  process.env.TMPDIR = dir; // os.tmpdir() of the test workers and their children
  return () => {
    if (process.env.RETHINK_PRUNE_KEEP_TEST_TMP === '1') {
      console.log(`the tests' temporary files are kept in ${dir}`);
    } else {
      // a child a test started (a Redis server, a queue worker) may still be writing as it exits
      fs.rmSync(dir, { recursive: true, force: true, maxRetries: 5, retryDelay: 200 });
    }
  };
}
