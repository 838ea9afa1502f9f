import * as fs from 'fs';
import * as path from 'path';
import { parseArgs } from 'util';
import { initBackend, loadModelDir, saveModelDir, UsageError, type MaskSet } from '@rethink-prune/core';
import { convSparsity, rewind } from './ticket';

/** A model directory that must exist, named by its option. */
function existingDir(option: string, dir: string | undefined): string {
  if (!dir) throw new UsageError(`--${option} <dir> is required`);
  if (!fs.existsSync(path.join(dir, 'model.json'))) throw new UsageError(`--${option} ${dir}: no model.json there`);
  return dir;
}

const disposeMasks = (masks?: MaskSet) => { for (const mask of masks?.values() ?? []) mask.dispose(); };

/** `lottery-ticket rewind --init <dir> --pruned <dir> --out <dir>`: the winning ticket of a pruned model. */
async function run(argv: string[]): Promise<void> {
  let values: { init?: string; pruned?: string; out?: string; backend?: string };
  try {
    ({ values } = parseArgs({ args: argv, strict: true, options: {
      init: { type: 'string' }, pruned: { type: 'string' }, out: { type: 'string' }, backend: { type: 'string' } } }));
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
  const [initDir, prunedDir] = [existingDir('init', values.init), existingDir('pruned', values.pruned)];
  if (!values.out) throw new UsageError('--out <dir> is required');
  if ([initDir, prunedDir].some((dir) => path.resolve(dir) === path.resolve(values.out!))) {
    throw new UsageError('--out must differ from the input directories (they are kept)');
  }
  await initBackend(values.backend);
  const pruned = await loadModelDir(prunedDir);
  pruned.model.dispose();
  if (!pruned.masks) throw new UsageError(`--pruned ${prunedDir}: no masks.json there (prune it with 'lottery-ticket prune')`);
  const init = await loadModelDir(initDir);
  init.model.dispose();
  if (JSON.stringify(init.spec) !== JSON.stringify(pruned.spec)) {
    disposeMasks(pruned.masks);
    throw new UsageError(`--init ${initDir} and --pruned ${prunedDir} are different architectures (spec.json differs)`);
  }
  const ticket = await rewind(initDir, { masks: pruned.masks });
  await saveModelDir(values.out, ticket, pruned.spec, pruned.masks);
  process.stdout.write(`winning ticket: the initial weights of ${initDir} with ` +
    `${(100 * convSparsity(ticket, pruned.masks)).toFixed(2)}% of conv weights zeroed by the masks of ${prunedDir}; ` +
    `saved with masks.json to ${values.out}\n`);
  disposeMasks(pruned.masks);
  ticket.dispose();
}

export const rewindCommand = {
  usage: '--init <dir> --pruned <dir> --out <dir>\n' +
    '                                      the winning ticket: the initial weights <init> with the masks of <pruned>',
  run,
};
