// Batched lookups by id, one per request: the gateway asks for many entities at once
// (`_entities`), and each must cost one SQL query for the whole batch, not one per id.
import DataLoader from 'dataloader';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Ids are UUIDs; anything else cannot exist, and must not reach SQL as a malformed uuid. */
export function isUuid(value: unknown): value is string {
  return typeof value === 'string' && UUID.test(value);
}

export function batchById<T>(
  fetch: (ids: readonly string[]) => Promise<readonly T[]>,
  idOf: (item: T) => string,
): DataLoader<string, T | null> {
  return new DataLoader<string, T | null>(async (ids) => {
    const valid = ids.filter(isUuid);
    const found = valid.length ? await fetch([...new Set(valid.map((id) => id.toLowerCase()))]) : [];
    const byId = new Map(found.map((item) => [idOf(item).toLowerCase(), item]));
    return ids.map((id) => byId.get(id.toLowerCase()) ?? null);
  });
}

/** Many rows per key (e.g. items per order), one query for all keys. */
export function batchGroups<T>(
  fetch: (keys: readonly string[]) => Promise<readonly T[]>,
  keyOf: (item: T) => string,
): DataLoader<string, T[]> {
  return new DataLoader<string, T[]>(async (keys) => {
    const rows = await fetch([...new Set(keys)]);
    const groups = new Map<string, T[]>();
    for (const row of rows) {
      const key = keyOf(row);
      const group = groups.get(key);
      if (group) group.push(row);
      else groups.set(key, [row]);
    }
    return keys.map((key) => groups.get(key) ?? []);
  });
}

/** The most ids one shared statement asks for; more wait for the next. */
const MAX_SHARED_BATCH = 100;

/**
 * Lookups by id of every request that reach it in the same turn of the event loop, merged into one
 * call of `fetch` (DataLoader without a cache, its batches dispatched from `setImmediate`, after
 * the requests read in that turn have asked). A request's own loader (`batchById`) still gives it
 * one lookup per id and its own answers; under load, concurrent requests then share a statement
 * and a round trip instead of one each, which on a busy machine cost more than the statement.
 *
 * What one request sees is only the rows of the ids it asked for, and every check of who may see
 * a row runs per request on the row, as before. The rows are shared by the requests of a batch:
 * they must be read, never changed. Nothing is kept between batches, so a read never sees older
 * data than it would alone.
 */
export function sharedLookups<T>(
  fetch: (ids: readonly string[]) => Promise<readonly T[]>,
  idOf: (item: T) => string,
): (ids: readonly string[]) => Promise<T[]> {
  const loader = new DataLoader<string, T | null>(
    async (ids) => {
      const found = await fetch([...new Set(ids)]);
      const byId = new Map(found.map((item) => [idOf(item), item]));
      return ids.map((id) => byId.get(id) ?? null);
    },
    { cache: false, batchScheduleFn: (dispatch) => setImmediate(dispatch), maxBatchSize: MAX_SHARED_BATCH },
  );
  return async (ids) => {
    const results = await loader.loadMany(ids);
    const rows: T[] = [];
    for (const result of results) {
      if (result instanceof Error) throw result;
      if (result !== null) rows.push(result);
    }
    return rows;
  };
}
