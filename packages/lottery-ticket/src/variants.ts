import { L1_VARIANTS } from '@rethink-prune/method-l1';
// Registers the weight-level folder's models (`vgg16-wl`, …) and this folder's ResNet-50 with core.
import '@rethink-prune/method-weight-level';
import './models';
import type { MethodVariant, Profile } from '@rethink-prune/core';

/** Frankle & Carbin's schedule: 20% of the remaining conv weights per round. */
export const DEFAULT_RATE = 0.2;

/**
 * A lottery-ticket experiment of the seed's `cifar/lottery-ticket/` folder. Structured: an L1-norm variant of
 * method-l1, kept full size with its pruned filters zero (`mask`, the seed's form) or cut down by surgery
 * (`compact`); one-shot (as lottery_vggprune.py / lottery_resprune.py), or `iterative`: round r of R prunes each
 * group to r/R of the way from its full width to the variant's, from the previous round's trained ticket. Unstructured: the weight-level magnitude prune of a
 * weight-level model, `iterative` (prune → rewind → train, rounds at a rate of the remaining weights) or `one-shot`
 * (each round's sparsity pruned at once from the baseline).
 */
export type TicketVariant = MethodVariant & (
  | { kind: 'structured'; l1: string; form: 'mask' | 'compact'; schedule: 'one-shot' | 'iterative' }
  | { kind: 'unstructured'; schedule: 'iterative' | 'one-shot'; rate: number }
);

const structured = (l1: string, form: 'mask' | 'compact', schedule: 'one-shot' | 'iterative' = 'one-shot'): TicketVariant =>
  ({ base: L1_VARIANTS[l1].base, kind: 'structured', l1, form, schedule });
const unstructured = (base: string, schedule: 'iterative' | 'one-shot'): TicketVariant =>
  ({ base, kind: 'unstructured', schedule, rate: DEFAULT_RATE });

/** The L1-norm variants the folder prunes (VGG-16-A, ResNet-56-A/B, ResNet-110-A/B). */
const L1_TICKETS = ['vgg16-A', 'resnet56-A', 'resnet56-B', 'resnet110-A', 'resnet110-B'];
/**
 * The unstructured tickets' models: the weight-level folder's VGG-16/19 (README: vgg16_bn), and the lottery folder's
 * own CIFAR "ResNet-50" (the paper's unstructured ResNet-50 arm) and "PreResNet-110" (18 bottlenecks per stage).
 */
const WEIGHT_LEVEL_TICKETS: Record<string, string> =
  { vgg16: 'vgg16-wl', vgg19: 'vgg19-wl', preresnet110: 'preresnet110-lottery', resnet50: 'resnet50-lottery' };

export const TICKET_VARIANTS: Record<string, TicketVariant> = Object.fromEntries([
  ...L1_TICKETS.map((l1) => [l1, structured(l1, 'mask')]),
  ...L1_TICKETS.map((l1) => [`${l1}-compact`, structured(l1, 'compact')]),
  ...L1_TICKETS.map((l1) => [`${l1}-iterative`, structured(l1, 'mask', 'iterative')]),
  ...Object.entries(WEIGHT_LEVEL_TICKETS).flatMap(([short, base]) => [
    [`${short}-iterative`, unstructured(base, 'iterative')],
    [`${short}-oneshot`, unstructured(base, 'one-shot')],
  ]),
]);

/**
 * What a run compares when no variants are named: the paper's VGG-16 in both kinds (quick: the unstructured
 * iterative one and VGG-16-A, which together take about the README's time), and the ResNets on `paper`.
 */
export function defaultTicketVariants(profile: Profile): string[] {
  if (profile.fullGrid) return [...L1_TICKETS, 'vgg16-iterative', 'vgg16-oneshot'];
  return ['vgg16-iterative', 'vgg16-A'];
}

/** The initial learning rates compared: the paper's 0.1 and 0.01, or the profile's LR and a tenth of it. */
export function defaultLearningRates(profile: Profile): number[] {
  const large = profile.lr ?? 0.1;
  return [large, Number((large / 10).toPrecision(6))];
}

/**
 * Rounds of an unstructured variant: as asked (`--rounds`), else 10 where the profile runs the paper's full grid (89%
 * of conv weights pruned at 20% a round), 3 at a few epochs' length (quick), 2 below (smoke); the same for a
 * structured iterative one. A structured one-shot variant: one round.
 */
export function ticketRounds(variant: TicketVariant, profile: Profile, requested?: number): number {
  if (variant.schedule === 'one-shot' && variant.kind === 'structured') return 1;
  return requested ?? (profile.fullGrid ? 10 : profile.epochs >= 4 ? 3 : 2);
}
