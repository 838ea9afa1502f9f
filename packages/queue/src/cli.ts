#!/usr/bin/env node
import { parseArgs } from 'util';
import {
  BACKEND_NAMES, checkBackendName, describeBackend, initBackend, shutdownBackend, USAGE_EXIT_CODE, UsageError,
} from '@rethink-prune/core';
import { resolveDataDir } from '@rethink-prune/datasets';
import { queueStatus, retryFailed, statusText } from './status';
import { redactUrl } from './redis-url';
import { startWorker, WORKER_ID } from './worker';

const HELP = `rethink-prune: run the paper's grid across machines, its stages as jobs on a Redis queue (BullMQ)

Usage:
  rethink-prune worker --queue <url> [options]   run stages from the queue, one at a time, until stopped
  rethink-prune status --queue <url> [--retry]   stage counts, running stages with their epoch, failed stages
                                                 with their error; --retry tries every failed stage again
  rethink-prune --help                           this text

Put a grid on the queue with a method's own command, for example:
  prune-l1 reproduce --profile paper --dataset cifar10 --seeds 5 --queue redis://:PASSWORD@HOST:6379

<url>: redis://[:password@]host[:port][/db], or rediss://… for TLS. Never expose a Redis without a password
beyond localhost: whoever reaches it can run stages on your workers.

worker options:
  --run-dir <dir>        shared directory (every worker must see the same files, e.g. over NFS); a grid's
                         --run-dir is taken relative to it (default: the current directory)
  --data-dir <dir>       this machine's datasets (default $RETHINK_PRUNE_DATA, then ~/.cache/rethink-prune/data)
  --backend <name>       ${BACKEND_NAMES.join(', ')} (default auto)
  --lock-seconds N       a stage whose worker is silent this long (killed, machine lost) goes to another
                         worker, which resumes it from its last checkpoint; longer than any evaluation or
                         prune step, which hold the worker busy (default 120)
  --poll-seconds N       how often a stage whose prerequisites run elsewhere looks again (default 10)
  --method-packages a,b  method packages outside @rethink-prune/ this worker may import (your own method);
                         a job naming any other package fails

Ctrl-C stops a worker at once; its stage resumes from its last checkpoint on another worker.
Exit codes: 0 success, 1 failure, 2 usage error.
`;

const OPTIONS = {
  help: { type: 'boolean', short: 'h' },
  queue: { type: 'string' },
  'run-dir': { type: 'string', default: '.' },
  'data-dir': { type: 'string' },
  backend: { type: 'string' },
  'lock-seconds': { type: 'string', default: '120' },
  'poll-seconds': { type: 'string', default: '10' },
  'method-packages': { type: 'string', default: '' },
  retry: { type: 'boolean', default: false },
} as const;

function seconds(option: string, value: string): number {
  const n = Number(value);
  if (value.trim() === '' || !Number.isFinite(n) || n <= 0) throw new UsageError(`--${option} ${value}: give a number of seconds > 0`);
  return n * 1000;
}

async function worker(values: Record<string, string | boolean | undefined>, url: string): Promise<void> {
  const backend = values.backend as string | undefined;
  checkBackendName(backend);
  const lockMs = seconds('lock-seconds', values['lock-seconds'] as string);
  const pollMs = seconds('poll-seconds', values['poll-seconds'] as string);
  const info = await initBackend(backend);
  const runDir = values['run-dir'] as string;
  const methodPackages = (values['method-packages'] as string).split(',').map((p) => p.trim()).filter(Boolean);
  const w = await startWorker({ url, runDir, dataDir: resolveDataDir(values['data-dir'] as string | undefined), lockMs,
    pollMs, methodPackages });
  process.stderr.write(`rethink-prune worker ${WORKER_ID}: queue at ${redactUrl(url)}, run dir ${runDir}, ` +
    `${describeBackend(info)}; ` +
    'waiting for stages (Ctrl-C stops)\n');
  await new Promise<void>((resolve) => {
    const stop = (signal: string) => {
      process.stderr.write(`rethink-prune worker ${WORKER_ID}: ${signal}: stopping; a stage stopped mid-way ` +
        'resumes from its last checkpoint on another worker\n');
      void w.close(true).finally(resolve);
    };
    process.once('SIGINT', () => stop('SIGINT'));
    process.once('SIGTERM', () => stop('SIGTERM'));
  });
}

async function main(argv: string[]): Promise<number> {
  try {
    let parsed;
    try {
      parsed = parseArgs({ args: argv, allowPositionals: true, strict: true, options: OPTIONS });
    } catch (e) {
      throw new UsageError((e as Error).message);
    }
    const { values, positionals } = parsed;
    const command = positionals[0];
    if (values.help || command === undefined) {
      process.stdout.write(HELP);
      return 0;
    }
    if (command !== 'worker' && command !== 'status') throw new UsageError(`unknown command '${command}'; use worker or status`);
    if (positionals.length > 1) throw new UsageError(`unexpected argument '${positionals[1]}'`);
    if (!values.queue) throw new UsageError(`${command} needs --queue redis://host:port`);
    if (command === 'worker') {
      await worker(values, values.queue);
    } else {
      if (values.retry) {
        const retried = await retryFailed(values.queue);
        process.stdout.write(`${retried.length} failed stage(s) waiting again${retried.length ? `: ${retried.join(', ')}` : ''}\n`);
      }
      process.stdout.write(statusText(await queueStatus(values.queue), values.queue));
    }
    return 0;
  } catch (e) {
    const usage = e instanceof UsageError || (e as Error).name === 'QueueUrlError';
    process.stderr.write(`rethink-prune: ${(e as Error).message}\n${usage ? "Run 'rethink-prune --help' for usage.\n" : ''}`);
    return usage ? USAGE_EXIT_CODE : 1;
  } finally {
    shutdownBackend();
  }
}

main(process.argv.slice(2)).then((code) => { process.exit(code); });
