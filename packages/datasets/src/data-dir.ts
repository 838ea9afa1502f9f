import * as os from 'os';
import * as path from 'path';

export const DATA_DIR_ENV = 'RETHINK_PRUNE_DATA';

/** Where datasets live: the --data-dir flag, else $RETHINK_PRUNE_DATA, else the per-user cache directory. */
export function resolveDataDir(flag?: string): string {
  if (flag) return path.resolve(flag);
  const env = process.env[DATA_DIR_ENV];
  if (env) return path.resolve(env);
  const xdg = process.env.XDG_CACHE_HOME;
  return path.join(xdg ? xdg : path.join(os.homedir(), '.cache'), 'rethink-prune', 'data');
}
