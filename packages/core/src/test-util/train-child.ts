/**
 * A training run in its own process, for the kill -9 resume test:
 * node -r ts-node/register/transpile-only train-child.ts <runDir> <backend>
 */
import { DATASETS, loadImageSet, sharedTestDataDir } from '@rethink-prune/datasets';
import { initBackend, shutdownBackend } from '../backend';
import { buildModel, type ArchSpec } from '../spec';
import { train } from '../train/loop';
import { cifarRecipe } from '../train/recipe';

export const CHILD_SPEC: ArchSpec =
  { arch: 'vgg', dataset: 'mnist', cfg: [4, 'M', 8, 'M', 8, 'M', 8], classifier: 'linear' };

async function main(): Promise<void> {
  const [runDir, backend] = process.argv.slice(2);
  await initBackend(backend);
  const dataDir = sharedTestDataDir();
  const data = { train: loadImageSet('mnist', 'train', { dataDir }), test: loadImageSet('mnist', 'test', { dataDir }),
    info: DATASETS.mnist };
  const result = await train({
    model: buildModel(CHILD_SPEC, 7), spec: CHILD_SPEC, data, recipe: { ...cifarRecipe(3), batchSize: 16 }, seed: 11,
    runDir, limit: { train: 320, test: 128 }, checkpointSteps: 3, progress: false,
  });
  process.stdout.write(JSON.stringify(result));
}

if (require.main === module) {
  main().catch((e) => { console.error(e); process.exitCode = 1; }).finally(() => shutdownBackend());
}
