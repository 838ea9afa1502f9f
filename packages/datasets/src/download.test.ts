import { createHash } from 'crypto';
import * as fs from 'fs';
import * as http from 'http';
import type { AddressInfo } from 'net';
import * as os from 'os';
import * as path from 'path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ChecksumError, download, DownloadError } from './download';

const body = Buffer.from(Array.from({ length: 200_000 }, (_, i) => (i * 7919) % 251));
const md5 = createHash('md5').update(body).digest('hex');
let mode: 'good' | 'corrupt' | 'cut' = 'good';
const ranges: string[] = [];
let server: http.Server;
let base = '';

beforeAll(async () => {
  server = http.createServer((req, res) => {
    const range = req.headers.range;
    ranges.push(range ?? '');
    const start = range ? Number(/bytes=(\d+)-/.exec(range)![1]) : 0;
    const data = mode === 'corrupt' ? Buffer.from(body).fill(0, 1000, 1010) : body;
    res.writeHead(range ? 206 : 200, { 'content-length': String(data.length - start) });
    if (mode === 'cut') {
      res.write(data.subarray(start, start + 50_000));
      setTimeout(() => res.destroy(), 20); // the connection drops mid-transfer
      return;
    }
    res.end(data.subarray(start));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => server.close());

const tmp = () => fs.mkdtempSync(path.join(os.tmpdir(), 'dl-'));

describe('download (against a server on 127.0.0.1)', () => {
  it('fetches a good file, checks its md5, and does not fetch it again', async () => {
    mode = 'good';
    const dir = tmp();
    const file = await download({ url: `${base}/a.bin`, md5, file: 'a.bin' }, dir);
    expect(fs.readFileSync(file).equals(body)).toBe(true);
    const before = ranges.length;
    await download({ url: `${base}/a.bin`, md5, file: 'a.bin' }, dir);
    expect(ranges.length).toBe(before);
  });

  it('rejects a corrupt file by checksum, naming it, and leaves nothing behind', async () => {
    mode = 'corrupt';
    const dir = tmp();
    const err = await download({ url: `${base}/b.bin`, md5, file: 'b.bin' }, dir).catch((e) => e);
    expect(err).toBeInstanceOf(ChecksumError);
    expect(err.message).toMatch(/^b\.bin: md5 [0-9a-f]{32} does not match/);
    expect(fs.readdirSync(dir)).toEqual([]);
  });

  it('an interrupted transfer keeps its part; the next run resumes with a Range request and completes', async () => {
    mode = 'cut';
    const dir = tmp();
    const err = await download({ url: `${base}/c.bin`, md5, file: 'c.bin' }, dir).catch((e) => e);
    expect(err).toBeInstanceOf(DownloadError);
    expect(err.message).toMatch(/run again to resume/);
    const partial = fs.statSync(path.join(dir, 'c.bin.part')).size;
    expect(partial).toBeGreaterThan(0);
    expect(partial).toBeLessThan(body.length);
    mode = 'good';
    const file = await download({ url: `${base}/c.bin`, md5, file: 'c.bin' }, dir);
    expect(ranges[ranges.length - 1]).toBe(`bytes=${partial}-`);
    expect(fs.readFileSync(file).equals(body)).toBe(true);
  });

  it('names the URL and status of a missing file', async () => {
    const missing = http.createServer((_, res) => { res.statusCode = 404; res.end(); });
    await new Promise<void>((r) => missing.listen(0, '127.0.0.1', r));
    const url = `http://127.0.0.1:${(missing.address() as AddressInfo).port}/nope.tar.gz`;
    await expect(download({ url, md5, file: 'nope' }, tmp())).rejects.toThrow(`${url}: HTTP 404`);
    missing.close();
  });
});
