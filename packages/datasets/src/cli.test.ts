import { execFile } from 'child_process';
import { createHash } from 'crypto';
import * as fs from 'fs';
import * as http from 'http';
import type { AddressInfo } from 'net';
import * as os from 'os';
import * as path from 'path';
import * as tar from 'tar';
import { describe, expect, it } from 'vitest';

const CLI = path.join(__dirname, 'cli.ts');

function run(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, ['-r', 'ts-node/register/transpile-only', CLI, ...args], { timeout: 120_000 }, (err, stdout, stderr) =>
      resolve({ code: err ? (err as { code?: number }).code ?? 1 : 0, stdout, stderr }));
  });
}

/** A CIFAR-10-shaped archive: six batch files of real layout, 20 records each. */
async function fakeCifarArchive(dir: string): Promise<Buffer> {
  const inner = path.join(dir, 'src', 'cifar-10-batches-bin');
  fs.mkdirSync(inner, { recursive: true });
  for (const f of ['data_batch_1', 'data_batch_2', 'data_batch_3', 'data_batch_4', 'data_batch_5', 'test_batch']) {
    const bytes = Buffer.alloc(20 * 3073);
    for (let i = 0; i < 20; i++) bytes[i * 3073] = i % 10;
    fs.writeFileSync(path.join(inner, `${f}.bin`), bytes);
  }
  const file = path.join(dir, 'archive.tar.gz');
  await tar.c({ gzip: true, file, cwd: path.join(dir, 'src') }, ['cifar-10-batches-bin']);
  return fs.readFileSync(file);
}

describe('rethink-prune-data', () => {
  it('--help lists the commands; an unknown dataset is a named error with exit code 1', async () => {
    expect((await run(['--help'])).stdout).toMatch(/download <name>.*\n.*verify <name>/s);
    const bad = await run(['verify', 'svhn']);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/unknown dataset 'svhn'; known: cifar10, cifar100, mnist, fashion-mnist, imagenet/);
  });

  it('downloads an archive from a local mirror, unpacks it, verifies it; list then shows it present', async () => {
    const work = fs.mkdtempSync(path.join(os.tmpdir(), 'cli-'));
    const archive = await fakeCifarArchive(work);
    const server = http.createServer((_, res) => res.end(archive));
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/cifar-10-binary.tar.gz`;
    const dataDir = path.join(work, 'data');
    try {
      const md5 = createHash('md5').update(archive).digest('hex');
      const wrong = await run(['download', 'cifar10', '--data-dir', dataDir, '--url', url]);
      expect(wrong.code).toBe(1);
      expect(wrong.stderr).toMatch(/cifar-10-binary\.tar\.gz: md5 [0-9a-f]+ does not match the expected c32a1d4ab5d03f1284b67883e8d87530/);
      const ok = await run(['download', 'cifar10', '--data-dir', dataDir, '--url', url, '--md5', md5]);
      expect(ok.stdout).toContain('cifar10: 100 train + 20 test images of 32×32×3, labels in range');
      expect((await run(['list', '--data-dir', dataDir])).stdout).toMatch(/cifar10\s+present/);
      fs.truncateSync(path.join(dataDir, 'cifar-10-batches-bin', 'test_batch.bin'), 5000);
      const broken = await run(['verify', 'cifar10', '--data-dir', dataDir]);
      expect(broken.stderr).toMatch(/test_batch\.bin: 5000 bytes is not a whole number of cifar10 records/);
    } finally {
      server.close();
    }
  });
});
