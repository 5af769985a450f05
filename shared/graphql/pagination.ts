// Cursor pagination (Relay connections) over a keyset: cursors are opaque, stable under
// inserts, and cost an index seek rather than an OFFSET scan.
import { BadUserInputError } from '../errors.ts';
import { isUuid } from './batch.ts';

export const MAX_PAGE_SIZE = 100;

export function pageSize(first: number | null | undefined, field = 'first'): number {
  const size = first ?? 20;
  if (!Number.isInteger(size) || size < 1 || size > MAX_PAGE_SIZE) {
    throw new BadUserInputError(field, `${field} must be a whole number from 1 to ${MAX_PAGE_SIZE}`);
  }
  return size;
}

export function encodeCursor(key: readonly (string | number)[]): string {
  return Buffer.from(JSON.stringify(key)).toString('base64url');
}

export function decodeCursor(
  cursor: string | null | undefined,
  arity: number,
  field = 'after',
): (string | number)[] | null {
  if (cursor === null || cursor === undefined) return null;
  try {
    const key: unknown = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
    if (
      Array.isArray(key) &&
      key.length === arity &&
      key.every((k) => typeof k === 'string' || typeof k === 'number')
    ) {
      return key as (string | number)[];
    }
  } catch {
    // fall through
  }
  throw new BadUserInputError(field, 'Not a cursor from this list');
}

export interface Connection<T> {
  edges: { cursor: string; node: T }[];
  pageInfo: { hasNextPage: boolean; endCursor: string | null };
  totalCount: number | (() => Promise<number>);
}

/** `rows` holds up to size + 1 rows: the extra one only tells that there is a next page. */
export function toConnection<T>(
  rows: readonly T[],
  size: number,
  keyOf: (row: T) => (string | number)[],
  totalCount: () => Promise<number>,
): Connection<T> {
  const page = rows.slice(0, size);
  const edges = page.map((node) => ({ cursor: encodeCursor(keyOf(node)), node }));
  return {
    edges,
    pageInfo: { hasNextPage: rows.length > size, endCursor: edges.at(-1)?.cursor ?? null },
    // Resolved only when the client asks for it.
    totalCount,
  };
}

/**
 * The `after` cursor of a list ordered newest first by (createdAt, id): both, or null for the first
 * page; anything else is the client's mistake (BAD_USER_INPUT), never SQL's.
 */
export function decodeCreatedAtCursor(
  after: string | null | undefined,
): { createdAt: Date; id: string } | null {
  const key = decodeCursor(after, 2);
  if (!key) return null;
  const [at, id] = key;
  const createdAt = typeof at === 'string' ? new Date(at) : new Date(Number.NaN);
  if (Number.isNaN(createdAt.getTime()) || !isUuid(id)) {
    throw new BadUserInputError('after', 'Not a cursor from this list');
  }
  return { createdAt, id: id.toLowerCase() };
}
