import { channelGroups, withWidths } from './graph';
import { stageWidthsOf } from './models/resnet';
import { planesOf } from './models/resnet-imagenet';
import type { ArchSpec } from './spec';

/** Divides a width, keeping at least one channel: the one rounding rule of every narrowed spec. */
export const narrow = (width: number, divisor: number) => Math.max(1, Math.round(width / divisor));

/**
 * The same architecture with every width divided by `divisor` (profiles `quick` and `smoke` train narrow
 * copies of the paper's models on a CPU). Depth and layer names are unchanged.
 */
export function narrowSpec(spec: ArchSpec, divisor: number): ArchSpec {
  if (divisor === 1) return spec;
  if (spec.arch === 'resnet-imagenet') {
    return { ...spec, planes: planesOf(spec).map((w) => narrow(w, divisor)), cfg: spec.cfg.map((w) => narrow(w, divisor)) };
  }
  if (spec.arch !== 'vgg' && spec.arch !== 'resnet') throw new Error(`narrowSpec: ${spec.arch} has no narrow variant yet; use widthDivisor 1`);
  if (spec.arch === 'resnet') {
    const stageWidths = stageWidthsOf(spec).map((w) => narrow(w, divisor));
    return { ...spec, stageWidths, cfg: spec.cfg.map((w) => narrow(w, divisor)) };
  }
  return withWidths(spec, new Map(channelGroups(spec).map((g) => [g.id, narrow(g.size, divisor)])));
}
