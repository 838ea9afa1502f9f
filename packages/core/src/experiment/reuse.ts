import * as fs from 'fs';
import * as path from 'path';
import { writeFileAtomic } from '../fs-atomic';
import { identityMismatch, isObject } from '../train/run-key';

/**
 * Stages that other runs trained already. A trained stage's weights follow from its spec, recipe, seed, data, hooks
 * and start, not from the method that asked for it: VGG-16's plain baseline is one run under L1, ThiNet and
 * regression, and a fresh scratch run of an architecture is one run whichever structured prune found it. Such a
 * stage, finished in another run directory, is copied instead of trained again (`--reuse-from`).
 */

/** Where a copied stage came from, in its result.json. */
export interface ReusedFrom {
  /** The directory it was copied from, relative to the working directory where it lies below it. */
  dir: string;
  /** The method whose run trained it. */
  method: string;
}

/** The identity without some of its fields. */
const without = (identity: Record<string, unknown>, fields: string[]) =>
  Object.fromEntries(Object.entries(identity).filter(([field]) => !fields.includes(field)));

/**
 * What decides a stage's weights, from its identity: a plain baseline's identity without the names of the method and
 * the model (its spec builds it: `vgg19-wl` names a spec); a scratch run from a fresh init after a structured prune
 * (no masks), without the method's and variant's names and the prune that chose the architecture. Undefined for every other stage (a method's hooks, a fine-tune, a saved init, masks):
 * those depend on their method.
 */
export function trainingKey(identity: Record<string, unknown>): Record<string, unknown> | undefined {
  if (identity.hooks !== null) return undefined;
  if (identity.stage === 'baseline') return identity.start === undefined ? without(identity, ['method', 'model']) : undefined;
  const structured = isObject(identity.pruned) && String(identity.pruned.pruner).startsWith('structured ');
  if (!String(identity.stage).startsWith('scratch-') || identity.init !== 'fresh' || !structured) return undefined;
  return without(identity, ['method', 'variant', 'pruned']);
}

const RESULT = 'result.json';
/** Folders inside a stage (weights, checkpoints): no stage lies below them. */
const INSIDE_A_STAGE = new Set(['best', 'final', 'init', 'checkpoint', 'pruned']);

/** Every finished stage under `root` (a folder holding result.json), depth first. */
function* finishedStages(root: string, depth = 0): Generator<string> {
  if (!fs.existsSync(root)) return;
  if (fs.existsSync(path.join(root, RESULT))) yield root;
  if (depth >= 12) return;
  for (const entry of fs.readdirSync(root, { withFileTypes: true })) {
    if (entry.isDirectory() && !INSIDE_A_STAGE.has(entry.name)) yield* finishedStages(path.join(root, entry.name), depth + 1);
  }
}

const readResult = (dir: string): Record<string, unknown> | undefined => {
  try {
    const result: unknown = JSON.parse(fs.readFileSync(path.join(dir, RESULT), 'utf8'));
    return isObject(result) && isObject(result.identity) ? result : undefined;
  } catch {
    return undefined; // a result being written, or not ours: not a stage to copy
  }
};

/** A finished stage under `roots`, other than `dir` itself, that trained what `identity` asks for. */
export function findReusable(roots: readonly string[], dir: string, identity: Record<string, unknown>): string | undefined {
  const key = trainingKey(identity);
  if (!key) return undefined;
  for (const root of roots) {
    for (const stage of finishedStages(root)) {
      if (path.resolve(stage) === path.resolve(dir)) continue;
      const found = trainingKey(readResult(stage)?.identity as Record<string, unknown> ?? {});
      if (found && identityMismatch(key, found) === undefined) return stage;
    }
  }
  return undefined;
}

/**
 * Copies the finished stage `source` to `dir` (its checkpoint aside) under this run's identity, naming where it came
 * from; whatever `dir` held (an interrupted run of the same training) gives way to it.
 */
export function copyStage(source: string, dir: string, identity: Record<string, unknown>): void {
  const result = readResult(source)!;
  const relative = path.relative(process.cwd(), path.resolve(source));
  const reusedFrom: ReusedFrom = (result.reusedFrom as ReusedFrom | undefined) ?? {
    dir: relative.startsWith('..') ? path.resolve(source) : relative,
    method: String((result.identity as Record<string, unknown>).method),
  };
  const copying = `${dir}.copying`;
  fs.rmSync(copying, { recursive: true, force: true });
  fs.cpSync(source, copying, { recursive: true, filter: (file) => path.basename(file) !== 'checkpoint' });
  writeFileAtomic(path.join(copying, RESULT), JSON.stringify({ ...result, identity, reusedFrom }, null, 2));
  fs.rmSync(dir, { recursive: true, force: true });
  fs.renameSync(copying, dir);
}
