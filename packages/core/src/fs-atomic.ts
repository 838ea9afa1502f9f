import * as fs from 'fs';
import * as path from 'path';

/** Writes a file so that a crash leaves either the old or the new content: write, fsync, rename. */
export function writeFileAtomic(file: string, data: string | Uint8Array): void {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const tmp = `${file}.${process.pid}.tmp`;
  const fd = fs.openSync(tmp, 'w');
  try {
    fs.writeSync(fd, typeof data === 'string' ? Buffer.from(data) : data);
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
  fs.renameSync(tmp, file);
}

/**
 * The parsed JSON of `file`; a missing or unparsable file becomes the caller's named error (`fail(problem)`)
 * instead of a raw ENOENT or SyntaxError.
 */
export function readJsonFile(file: string, fail: (problem: string) => Error): unknown {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (e) {
    const missing = (e as NodeJS.ErrnoException).code === 'ENOENT';
    throw fail(missing ? 'missing' : `unreadable (${(e as Error).message})`);
  }
  try {
    return JSON.parse(text);
  } catch (e) {
    throw fail(`not valid JSON (${(e as Error).message})`);
  }
}
