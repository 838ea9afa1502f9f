import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { describe, expect, it } from 'vitest';
import { StaleStageError } from '../errors';
import { cachedStage } from './cached-stage';

/** A stage that writes `{identity, value}` to result.json in its directory and counts its runs. */
function countingStage(dir: string, identity: Record<string, unknown>, fresh = false) {
  const runs = { count: 0 };
  const file = path.join(dir, 'result.json');
  const stage = {
    dir, identity, fresh,
    finished: () => {
      if (!fs.existsSync(file)) return undefined;
      const saved = JSON.parse(fs.readFileSync(file, 'utf8'));
      return { identity: saved.identity, reuse: () => saved.value as number };
    },
    run: async () => {
      runs.count++;
      fs.mkdirSync(dir, { recursive: true });
      fs.writeFileSync(file, JSON.stringify({ identity, value: 40 + runs.count }));
      return 40 + runs.count;
    },
  };
  return { stage, runs };
}

describe('cachedStage', () => {
  const dir = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'cached-')), 'stage');

  it('runs a stage once and reuses it while its identity matches', async () => {
    const { stage, runs } = countingStage(dir, { recipe: { epochs: 4 }, seed: 0 });
    expect(await cachedStage(stage)).toBe(41);
    expect(await cachedStage(stage)).toBe(41);
    expect(runs.count).toBe(1);
  });

  it('refuses a finished stage of another identity, naming the field and the directory, and leaves it', async () => {
    const { stage, runs } = countingStage(dir, { recipe: { epochs: 8 }, seed: 0 });
    const error = await cachedStage(stage).catch((e) => e);
    expect(error).toBeInstanceOf(StaleStageError);
    expect([error.dir, error.field]).toEqual([dir, 'recipe']);
    expect(error.message).toContain('--fresh');
    expect(runs.count).toBe(0);
    expect(JSON.parse(fs.readFileSync(path.join(dir, 'result.json'), 'utf8')).identity.recipe.epochs).toBe(4);
  });

  it('with fresh, clears the stale directory and runs again', async () => {
    fs.writeFileSync(path.join(dir, 'leftover.bin'), 'old');
    const { stage, runs } = countingStage(dir, { recipe: { epochs: 8 }, seed: 0 }, true);
    expect(await cachedStage(stage)).toBe(41);
    expect(runs.count).toBe(1);
    expect(fs.existsSync(path.join(dir, 'leftover.bin'))).toBe(false);
  });
});
