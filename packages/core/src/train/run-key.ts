/**
 * Run keys: what makes two training runs the same run (spec, recipe, seed, data and the caller's identity).
 * A run directory holding a checkpoint or result of another run is refused, naming the first differing field.
 */

export const isObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

/** Deep equality of two JSON values (key order aside; a field holding undefined counts as absent). */
function sameJson(first: unknown, second: unknown): boolean {
  if (Array.isArray(first) || Array.isArray(second)) {
    return Array.isArray(first) && Array.isArray(second) && first.length === second.length &&
      first.every((item, i) => sameJson(item, second[i]));
  }
  if (isObject(first) && isObject(second)) {
    const keys = new Set([...Object.keys(first), ...Object.keys(second)]);
    return [...keys].every((key) => sameJson(first[key], second[key]));
  }
  return first === second;
}

/**
 * The first top-level field in which a stored run key (or identity) differs from the expected one, or
 * undefined when they match. Values compare as JSON, deeply; a field absent on one side differs. A stored
 * value that is not an object: 'run key (none recorded)'.
 */
export function identityMismatch(expected: Record<string, unknown>, found: unknown): string | undefined {
  if (!isObject(found)) return 'run key (none recorded)';
  const fields = [...new Set([...Object.keys(expected), ...Object.keys(found)])];
  return fields.find((field) => !sameJson(expected[field], found[field]));
}

/** identityMismatch, followed into the `identity` field (`identity.method`) so that a refusal reads well. */
export function differingField(expected: Record<string, unknown>, found: unknown): string | undefined {
  const field = identityMismatch(expected, found);
  const wanted = expected.identity;
  const stored = isObject(found) ? found.identity : undefined;
  if (field !== 'identity' || !isObject(wanted) || !isObject(stored)) return field;
  return `identity.${identityMismatch(wanted, stored)}`;
}
