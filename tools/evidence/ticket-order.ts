/**
 * A diagnosis of the lottery study: its winning ticket differs from its random init in two ways, the initial weights
 * (the baseline's, masked) and the data order (the baseline's seed, so the ticket replays its baseline's batches and
 * augmentations exactly; the random init trains on seed + 1000). This trains the winning ticket of one round on another
 * data order, by default the random init's, so that the two differ in their initial weights alone.
 */
import * as fs from 'fs';
import * as path from 'path';
import { parseArgs } from 'util';
import {
  applyMasks, loadMasks, loadModelDir, loadTrainingData, readTrainResult, scratchSeed, startBackend, train,
  type ArchSpec, type Recipe,
} from '@rethink-prune/core';
import { SUBSET_DATA_DIR } from './studies';

const USAGE = `npm run -s ticket-order -- <round dir> [--data-seed N] [--data-dir DIR]

  Trains the winning ticket of a lottery round again on another data order: the baseline's initial weights with the
  round's masks (pruned/), the recipe and spec of its scratch-e-saved-init/ run, the data-order seed N (default: the
  random init's, the run's seed + 1000). Writes <round dir>/scratch-e-saved-init-data<N>/ (it resumes) and prints
  its best top-1 beside the ticket's and the random init's.

  <round dir>   e.g. runs/study/lottery-ticket/small/cifar10/vgg16/seed0/lr0.1/vgg16-A/round1
  --data-dir    the CIFAR-10 .bin files (default ../shared/datasets/cifar10-subset)
  The backend is wasm (with the native oneDNN kernels where built), one thread unless RETHINK_PRUNE_THREADS says.`;

interface TicketRun {
  recipe: Recipe;
  spec: ArchSpec;
  seed: number;
  /** The images it trained and was tested on (a profile's limits). */
  limit: { train?: number; test?: number };
  /** The ticket run's identity: the new run's key holds it, so a round trained again is not taken for this one. */
  identity: Record<string, unknown>;
  initDir: string;
}

/** The winning ticket's run of a round and where its baseline's initial weights are, or why not. */
export function ticketRun(roundDir: string): TicketRun {
  const ticketDir = path.join(roundDir, 'scratch-e-saved-init');
  const result = readTrainResult(ticketDir);
  if (!result) throw new Error(`${ticketDir} holds no finished winning ticket (result.json): train the round first`);
  const identity = result.identity as
    { recipe?: Recipe; spec?: ArchSpec; seed?: number; data?: { limit?: TicketRun['limit'] } } | undefined;
  if (!identity?.recipe || !identity.spec || typeof identity.seed !== 'number') {
    throw new Error(`${path.join(ticketDir, 'result.json')} names no recipe, spec and seed: not a lottery stage`);
  }
  // <variant>/round<r>/ lies beside the baseline/ of its seed and LR.
  const initDir = path.join(roundDir, '..', '..', 'baseline', 'init');
  if (!fs.existsSync(initDir)) throw new Error(`${initDir} is missing: the baseline's initial weights are needed`);
  return { recipe: identity.recipe, spec: identity.spec, seed: identity.seed, limit: identity.data?.limit ?? {},
    identity: identity as Record<string, unknown>, initDir };
}

async function main(argv: string[]): Promise<void> {
  const { values, positionals } = parseArgs({ args: argv, allowPositionals: true, options: {
    'data-seed': { type: 'string' }, 'data-dir': { type: 'string' }, help: { type: 'boolean' } } });
  if (values.help) return void console.log(USAGE);
  if (positionals.length !== 1) throw new Error(`give one round directory\n\n${USAGE}`);
  const roundDir = positionals[0];
  const ticket = ticketRun(roundDir);
  const dataSeed = values['data-seed'] === undefined ? scratchSeed(ticket.seed) : Number(values['data-seed']);
  if (!Number.isInteger(dataSeed) || dataSeed < 0) throw new Error(`--data-seed ${values['data-seed']} is not a seed`);
  await startBackend('ticket-order', 'wasm');
  const masks = await loadMasks(path.join(roundDir, 'pruned'));
  if (!masks) throw new Error(`${path.join(roundDir, 'pruned')} has no masks: not a lottery round in mask form`);
  const ticketModel = (await loadModelDir(ticket.initDir)).model;
  applyMasks(ticketModel, masks);
  const result = await train({ model: ticketModel, spec: ticket.spec, recipe: ticket.recipe, seed: dataSeed,
    data: loadTrainingData('cifar10', values['data-dir'] ?? SUBSET_DATA_DIR),
    limit: ticket.limit, runDir: path.join(roundDir, `scratch-e-saved-init-data${dataSeed}`), hooks: { masks },
    label: `winning ticket on data order ${dataSeed}`,
    identity: { diagnosis: 'ticket-order', ticket: ticket.identity, dataSeed } });
  const best = (dir: string) => readTrainResult(path.join(roundDir, dir))?.bestTop1.toFixed(2) ?? '–';
  console.log(`best top-1: winning ticket on data order ${dataSeed} ${result.bestTop1.toFixed(2)}; on its ` +
    `baseline's (${ticket.seed}) ${best('scratch-e-saved-init')}; random init ${best('scratch-e')}`);
}

if (require.main === module) {
  main(process.argv.slice(2)).catch((e: Error) => {
    console.error(`ticket-order: ${e.message}`);
    process.exit(1);
  });
}
