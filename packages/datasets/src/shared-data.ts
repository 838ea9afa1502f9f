import * as fs from 'fs';
import * as path from 'path';

/**
 * Where the workspace's real test images live (CIFAR subsets outside the repository, on developer
 * machines and CI only). RETHINK_PRUNE_SHARED_DATA overrides the default `<repo>/../shared/datasets`.
 */
export function sharedDatasetsDir(): string | undefined {
  const dir = process.env.RETHINK_PRUNE_SHARED_DATA ?? path.resolve(__dirname, '../../../../shared/datasets');
  return fs.existsSync(dir) ? dir : undefined;
}
