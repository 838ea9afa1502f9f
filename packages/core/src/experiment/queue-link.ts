import * as fs from 'fs';
import { createRequire } from 'module';
import * as path from 'path';
import type { GridOptions } from './grid';
import type { MethodDefinition } from './method';

/** A grid put on a job queue instead of run here (`reproduce --queue`). */
export interface EnqueueRequest {
  /** `redis://[:password@]host:port[/db]` or `rediss://…` (TLS). */
  url: string;
  method: MethodDefinition<any>;
  /** The npm package whose exports hold `method`: workers import it by this name. */
  methodPackage: string;
  /** The grid; `runDir` is taken relative to each worker's `--run-dir` unless absolute. */
  grid: Omit<GridOptions, 'dataDir' | 'stage'>;
  /** Tries per stage before it is marked failed. */
  attempts: number;
}

export interface EnqueueSummary {
  /** Stages put on the queue now. */
  added: number;
  /** Stages of the grid that were already queued, running or done (a grid enqueued twice adds nothing). */
  existing: number;
  /** Labels of this grid's stages that had failed; `rethink-prune status --retry` tries them again. */
  failed: string[];
  /** Where the report stage writes the results, relative to the workers' `--run-dir`. */
  results: string;
}

export interface QueueLink {
  enqueueGrid(request: EnqueueRequest): Promise<EnqueueSummary>;
}

export const QUEUE_PACKAGE = '@rethink-prune/queue';

/** Whether an error says that `name` itself (not one of its own imports) is not installed. */
const isMissing = (e: unknown, name: string) =>
  (e as NodeJS.ErrnoException).code === 'MODULE_NOT_FOUND' && (e as Error).message.includes(`'${name}'`);

/**
 * A package installed where the command runs (the working directory's node_modules) or beside core; undefined
 * when neither has it. Errors inside the package are thrown.
 */
export function requireInstalled(name: string): unknown {
  for (const from of [path.join(process.cwd(), 'package.json'), __filename]) {
    try {
      return createRequire(from)(name);
    } catch (e) {
      if (!isMissing(e, name)) throw e;
    }
  }
  return undefined;
}

/**
 * The queue package, loaded only when `--queue` is used, so that installing a method package pulls in no Redis
 * client.
 */
export function loadQueueLink(): QueueLink {
  const link = requireInstalled(QUEUE_PACKAGE) as QueueLink | undefined;
  if (link) return link;
  throw new Error(`--queue needs the package ${QUEUE_PACKAGE} (npm install ${QUEUE_PACKAGE}); it is not installed`);
}

/**
 * The package a method comes from: its definition's `package`, else the package.json above the running command
 * (`node_modules/.bin/prune-l1` → `@rethink-prune/method-l1`).
 */
export function methodPackageName(method: MethodDefinition<any>, script = process.argv[1]): string {
  if (method.package) return method.package;
  let dir = script ? path.dirname(fs.realpathSync(script)) : '';
  for (; dir && dir !== path.dirname(dir); dir = path.dirname(dir)) {
    const file = path.join(dir, 'package.json');
    if (fs.existsSync(file)) {
      const name = (JSON.parse(fs.readFileSync(file, 'utf8')) as { name?: string }).name;
      if (name) return name;
    }
  }
  throw new Error(`--queue: cannot tell which package holds the method '${method.name}'; ` +
    'set `package` in its MethodDefinition');
}
