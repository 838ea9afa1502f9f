import { spawn, spawnSync, type ChildProcess } from 'child_process';
import * as fs from 'fs';
import * as net from 'net';
import * as os from 'os';
import * as path from 'path';

/** `1`: the Redis tests must run (CI sets it after installing redis-server), `0`: leave them out. */
export const REDIS_TEST_ENV = 'RETHINK_PRUNE_TEST_REDIS';

const found = spawnSync('redis-server', ['--version'], { encoding: 'utf8' }).status === 0;

function redisWanted(): boolean {
  const setting = process.env[REDIS_TEST_ENV];
  if (setting === '1' && !found) {
    throw new Error(`${REDIS_TEST_ENV}=1 but redis-server is not on PATH (apt-get install redis-server)`);
  }
  if (!found && setting !== '0') {
    process.stderr.write(`queue tests: redis-server is not on PATH: the Redis tests do NOT run (apt-get install redis-server)\n`);
  }
  return found && setting !== '0';
}

/** Whether the queue's Redis tests run here. */
export const REDIS_TESTED = redisWanted();

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

export interface TestRedis {
  /** `redis://:<password>@127.0.0.1:<port>`. */
  url: string;
  port: number;
  stop(): Promise<void>;
}

/** A throw-away redis-server on 127.0.0.1 at a free port, with a password and no persistence. */
export async function startRedis(password = 'test-secret'): Promise<TestRedis> {
  const port = await freePort();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'redis-'));
  const child: ChildProcess = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1',
    '--requirepass', password, '--save', '', '--appendonly', 'no', '--dir', dir], { stdio: ['ignore', 'pipe', 'pipe'] });
  await new Promise<void>((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error(`redis-server did not start on port ${port}:\n${out}`)), 10_000);
    child.stdout!.on('data', (chunk) => {
      out += chunk;
      if (out.includes('Ready to accept connections')) {
        clearTimeout(timer);
        resolve();
      }
    });
    child.once('exit', (code) => { clearTimeout(timer); reject(new Error(`redis-server exited (${code}):\n${out}`)); });
  });
  return {
    url: `redis://:${password}@127.0.0.1:${port}`,
    port,
    stop: () => new Promise((resolve) => {
      if (child.exitCode !== null) return resolve();
      child.once('exit', () => resolve());
      child.kill('SIGTERM');
    }),
  };
}
