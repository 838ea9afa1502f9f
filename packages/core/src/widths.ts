import { familyOf, type ArchSpec } from './models/registry';

export { narrow } from './models/family';

/**
 * The same architecture with every width divided by `divisor` (profiles `quick` and `smoke` train narrow
 * copies of the paper's models on a CPU). Depth and layer names are unchanged; each family decides which
 * widths it has (models/<family>.ts, `narrowSpec`), all rounded by `narrow`.
 */
export function narrowSpec(spec: ArchSpec, divisor: number): ArchSpec {
  if (divisor === 1) return spec;
  return familyOf(spec).narrowSpec(spec, divisor);
}
