import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { describe, expect, it } from 'vitest';
import { ticketRun } from './ticket-order';

/** A lottery round's folder as the study writes it: <seed>/<lr>/baseline/init and <variant>/round1/. */
function roundDir(identity: Record<string, unknown> | null, withInit = true): string {
  const lrDir = fs.mkdtempSync(path.join(os.tmpdir(), 'ticket-order-'));
  const round = path.join(lrDir, 'vgg16-A', 'round1');
  const ticket = path.join(round, 'scratch-e-saved-init');
  fs.mkdirSync(ticket, { recursive: true });
  if (identity) {
    fs.writeFileSync(path.join(ticket, 'result.json'),
      JSON.stringify({ bestTop1: 58.25, final: { top1: 58.25 }, identity }));
  }
  if (withInit) fs.mkdirSync(path.join(lrDir, 'baseline', 'init'), { recursive: true });
  return round;
}

describe('ticket-order: the winning ticket of a round, trained again on another data order', () => {
  const recipe = { epochs: 40, batchSize: 64, lr: 0.1, momentum: 0.9, weightDecay: 1e-4, milestones: [20, 30], gamma: 0.1 };
  const spec = { arch: 'vgg', depth: 16 };

  it('takes the recipe, spec and seed of the ticket\'s run, and its baseline\'s initial weights', () => {
    const identity = { seed: 2, recipe, spec, init: 'saved-init', data: { dataset: 'cifar10', limit: { train: 3000 } } };
    const round = roundDir(identity);
    expect(ticketRun(round)).toEqual({ recipe, spec, seed: 2, limit: { train: 3000 }, identity,
      initDir: path.join(round, '..', '..', 'baseline', 'init') });
  });

  it('refuses a round whose ticket has not finished, is not a lottery stage, or lacks its baseline\'s init', () => {
    const unfinished = roundDir(null);
    expect(() => ticketRun(unfinished)).toThrow(
      `${path.join(unfinished, 'scratch-e-saved-init')} holds no finished winning ticket (result.json)`);
    expect(() => ticketRun(roundDir({ recipe }))).toThrow('names no recipe, spec and seed: not a lottery stage');
    const noInit = roundDir({ seed: 0, recipe, spec }, false);
    expect(() => ticketRun(noInit)).toThrow(`${path.join(noInit, '..', '..', 'baseline', 'init')} is missing`);
  });
});
