import { createHash } from 'crypto';
import * as fs from 'fs';
import * as http from 'http';
import * as https from 'https';
import * as path from 'path';

/** A file to fetch and the checksum it must have. */
export interface RemoteFile {
  url: string;
  md5: string;
  /** File name inside the data directory. */
  file: string;
}

export class DownloadError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'DownloadError';
  }
}

export class ChecksumError extends Error {
  constructor(readonly file: string, readonly expected: string, readonly actual: string) {
    super(`${file}: md5 ${actual} does not match the expected ${expected}; the download is corrupt and was removed`);
    this.name = 'ChecksumError';
  }
}

export function md5OfFile(file: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const hash = createHash('md5');
    fs.createReadStream(file).on('data', (d) => hash.update(d)).on('error', reject).on('end', () => resolve(hash.digest('hex')));
  });
}

export type ProgressFn = (received: number, total: number | undefined) => void;

/** One GET (with a Range header when resuming), appended to `part`. Resolves when the body has ended. */
function fetchInto(url: string, part: string, onProgress?: ProgressFn, redirects = 5): Promise<void> {
  const have = fs.existsSync(part) ? fs.statSync(part).size : 0;
  const client = url.startsWith('https:') ? https : http;
  return new Promise((resolve, reject) => {
    const req = client.get(url, { headers: have > 0 ? { Range: `bytes=${have}-` } : {} }, (res) => {
      const status = res.statusCode ?? 0;
      if (status >= 300 && status < 400 && res.headers.location && redirects > 0) {
        res.resume();
        fetchInto(new URL(res.headers.location, url).toString(), part, onProgress, redirects - 1).then(resolve, reject);
        return;
      }
      if (status === 416 && have > 0) { // already complete
        res.resume();
        resolve();
        return;
      }
      if (status !== 200 && status !== 206) {
        res.resume();
        reject(new DownloadError(`${url}: HTTP ${status}`));
        return;
      }
      // 200 means the server ignored the range: start over.
      const append = status === 206;
      const total = Number(res.headers['content-length'] ?? NaN) + (append ? have : 0);
      let received = append ? have : 0;
      const out = fs.createWriteStream(part, { flags: append ? 'a' : 'w' });
      res.on('data', (chunk: Buffer) => {
        received += chunk.length;
        onProgress?.(received, Number.isFinite(total) ? total : undefined);
      });
      res.on('aborted', () => out.destroy(new DownloadError(`${url}: connection closed after ${received} bytes; run again to resume`)));
      res.on('error', (e) => out.destroy(e));
      res.pipe(out);
      out.on('error', (e) => reject(e instanceof DownloadError ? e : new DownloadError(`${url}: ${e.message}; run again to resume`)));
      out.on('finish', () => {
        if (Number.isFinite(total) && received < total) {
          reject(new DownloadError(`${url}: connection closed after ${received} of ${total} bytes; run again to resume`));
        } else {
          resolve();
        }
      });
    });
    req.on('error', (e) => reject(new DownloadError(`${url}: ${e.message}`)));
  });
}

/**
 * Downloads `remote` into `dir`, resuming a partial `<file>.part` left by an interrupted run, and checks
 * its md5 before giving it its final name. An existing file with the right checksum is not fetched again.
 */
export async function download(remote: RemoteFile, dir: string, onProgress?: ProgressFn): Promise<string> {
  fs.mkdirSync(dir, { recursive: true });
  const target = path.join(dir, remote.file);
  if (fs.existsSync(target) && (await md5OfFile(target)) === remote.md5) return target;
  const part = `${target}.part`;
  await fetchInto(remote.url, part, onProgress);
  const actual = await md5OfFile(part);
  if (actual !== remote.md5) {
    fs.rmSync(part, { force: true });
    throw new ChecksumError(remote.file, remote.md5, actual);
  }
  fs.renameSync(part, target);
  return target;
}
