// Keys that must be equal for equal values whatever order a client wrote their fields in: a
// subscription's group (feeds.ts) and a batch of first-state reads (first-state.ts) are keyed by
// their variables, and `{"a":1,"b":2}` and `{"b":2,"a":1}` ask the same thing.

/** JSON with every object's keys sorted, at every depth (arrays keep their order). */
export function stableJson(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) =>
    v && typeof v === 'object' && !Array.isArray(v)
      ? Object.fromEntries(Object.entries(v as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : 1)))
      : v,
  );
}
