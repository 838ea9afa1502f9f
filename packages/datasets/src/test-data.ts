import * as os from 'os';
import * as path from 'path';

/**
 * A data directory for tests that need the embedded sets or the tiny ImageNet folder but not a fresh directory:
 * under os.tmpdir(), which the workspace's test setup makes one folder per vitest run, so the Fashion-MNIST split
 * cache (seconds to build) and the tiny ImageNet JPEGs are written once per run instead of once per test. Their
 * writers are atomic, so test files running side by side can share it.
 */
export const sharedTestDataDir = (): string => path.join(os.tmpdir(), 'rethink-prune-test-data');
