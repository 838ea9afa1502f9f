import * as fs from 'fs';
import { StaleStageError } from '../errors';
import { identityMismatch } from '../train/run-key';

/** A stage whose result is kept in its own directory, with the run identity that produced it. */
export interface CachedStage<T> {
  dir: string;
  identity: Record<string, unknown>;
  /** Run a stale stage again (its directory is cleared first) instead of refusing it. */
  fresh: boolean;
  /** The finished stage: the identity it recorded and how to take its result; undefined while none is finished. */
  finished(): { identity: unknown; reuse: () => Promise<T> | T } | undefined;
  /** Does the stage's work, in `dir`. */
  run(): Promise<T>;
}

/**
 * The one runner of a cached stage: a finished stage whose identity matches is reused; one whose identity differs is
 * refused with a StaleStageError naming the first differing field, or with `fresh` cleared and run again; otherwise
 * the stage runs (a training stage then resumes from its checkpoint, if any).
 */
export async function cachedStage<T>(stage: CachedStage<T>): Promise<T> {
  const done = stage.finished();
  if (done) {
    const field = identityMismatch(stage.identity, done.identity);
    if (field === undefined) return done.reuse();
    if (!stage.fresh) throw new StaleStageError(stage.dir, field, 'finished stage');
    fs.rmSync(stage.dir, { recursive: true, force: true });
  }
  return stage.run();
}
