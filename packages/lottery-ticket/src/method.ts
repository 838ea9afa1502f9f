import * as path from 'path';
import {
  channelGroups, magnitudeMasks, parseShare, readReference, scaleTargets, sparseScratchInit, type MethodDefinition,
  type PruneContext, type Pruner,
} from '@rethink-prune/core';
import { l1KeepSets, L1_VARIANTS, targetWidths } from '@rethink-prune/method-l1';
import { ticketChart } from './chart';
import { chartPoints, ticketsMarkdown } from './results';
import { rewindCommand } from './rewind-command';
import { convSparsity, filterMasks, nextRoundMasks } from './ticket';
import { defaultLearningRates, defaultTicketVariants, ticketRounds, TICKET_VARIANTS, type TicketVariant } from './variants';

/** The sparsity `round` iterative rounds at `rate` reach: 1 − (1 − rate)^round, pruned at once by one-shot runs. */
export const oneShotShare = (rate: number, round: number) => 1 - (1 - rate) ** round;

/**
 * The L1-norm keep-sets of a structured ticket: method-l1's variant, its targets scaled to the model's widths. An
 * iterative one's round r of R keeps full − round((full − target) · r/R) filters of a group (at full width): the
 * last round reaches the variant. Filters an earlier round zeroed have the smallest norm (0), so they go first.
 */
function l1Keep({ model, spec, fullSpec, variant, round, rounds }: PruneContext<TicketVariant>) {
  if (variant.kind !== 'structured') throw new Error('a structured ticket prunes by an L1-norm variant');
  const targets = targetWidths(fullSpec, L1_VARIANTS[variant.l1]);
  if (variant.schedule === 'iterative') {
    const full = new Map(channelGroups(fullSpec).map((group) => [group.id, group.size]));
    for (const [id, target] of targets) {
      const size = full.get(id)!;
      targets.set(id, size - Math.round(((size - target) * round) / rounds));
    }
  }
  return l1KeepSets(model, spec, scaleTargets(targets, fullSpec, spec));
}

/**
 * Masks on the full-size network: a structured ticket's pruned filters (the seed's lottery_vggprune.py form), or
 * an unstructured round's magnitude prune — iterative: the share `rate` of the weights still non-zero in the previous
 * round's trained ticket (its masks stay in force); one-shot: 1 − (1 − rate)^round of all, from the baseline.
 */
const masksPruner: Pruner<TicketVariant> = {
  kind: 'unstructured',
  version: '2',
  masks: (ctx) => {
    const { model, variant, round, previous } = ctx;
    if (variant.kind === 'structured') return filterMasks(model, l1Keep(ctx));
    return variant.schedule === 'iterative'
      ? nextRoundMasks(model, variant.rate, previous)
      : magnitudeMasks(model, oneShotShare(variant.rate, round));
  },
};

/** The same filters cut out by surgery (a compact ticket is surgery on the saved init). */
const compactPruner: Pruner<TicketVariant> = { kind: 'structured', version: '2', keepSets: l1Keep };

const meaning = 'the share of the remaining conv weights to prune, between 0 and 1 (e.g. 0.2)';

/**
 * Lottery tickets as the paper tests them (v2 §6, the seed's cifar/lottery-ticket/): per variant, seed and initial
 * LR, the baseline (its initial weights saved), then per round a prune, the winning ticket (Scratch-E from the saved
 * initialisation) and the random re-init (Scratch-E from a fresh one); iterative rounds prune the previous ticket.
 */
export const lotteryMethod: MethodDefinition<TicketVariant> = {
  name: 'lottery-ticket',
  command: 'lottery-ticket',
  title: 'Lottery tickets (Frankle & Carbin): the winning ticket against a random re-init of the same pruned network',
  package: '@rethink-prune/lottery-ticket',
  variants: TICKET_VARIANTS,
  defaultVariants: (profile) => defaultTicketVariants(profile),
  pruner: masksPruner,
  prunerOf: (variant) => (variant.kind === 'structured' && variant.form === 'compact' ? compactPruner : masksPruner),
  scratchStarts: ['saved-init', 'fresh'],
  skips: ['finetune', 'scratch-b'],
  rounds: ticketRounds,
  iterate: (variant) => variant.schedule === 'iterative',
  learningRates: defaultLearningRates,
  // cifar_scratch_no_longer.py re-draws each conv with the fan its kept weights give; main_scratch_mask.py
  // (structured) keeps the full-width init.
  initScratch: (model, masks, seed, variant) => {
    if (variant.kind === 'unstructured') sparseScratchInit(model, masks, seed);
  },
  pruneOption: {
    name: 'rate',
    value: 'p',
    help: 'one iterative round: remove the share p of the conv weights still non-zero (masks.json stays)',
    variant: (value) => ({ kind: 'unstructured', schedule: 'iterative', rate: parseShare('rate', value, meaning) }),
  },
  pruneReport: ({ model, pruned, previous }): Record<string, string> => pruned.masks
    ? { 'conv weights pruned': `${(100 * (previous ? convSparsity(model, previous) : 0)).toFixed(2)}% → ` +
        `${(100 * convSparsity(pruned.model, pruned.masks)).toFixed(2)}%` }
    : {},
  report: {
    name: 'tickets',
    markdown: ticketsMarkdown,
    chart: (rows, title) => ticketChart(chartPoints(rows), title),
  },
  commands: { rewind: rewindCommand },
  reference: readReference(path.join(__dirname, '..', 'reference.json')),
};
