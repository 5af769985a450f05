// Raw SQL with bind parameters, for the shared messaging tables (outbox, inbox) that no entity
// describes. Services' own tables are reached through their typed stores (`*.store.ts`), whose
// SQL Kysely builds from the entity definitions; the lint config keeps this module to those few.
// `em.execute` writes the values into the SQL text, so PostgreSQL parses and plans each statement
// anew; `query` sends them separately, and the pipelined client (pipelined-client.ts) prepares
// each text once per connection.
import type { EntityManager } from '@mikro-orm/postgresql';
import { CompiledQuery } from 'kysely';
import { withoutWaiting } from './pipelined-client.ts';

/** `?` placeholders become `$1, $2, ...` (once per text). The text must hold no other `?`. */
const numbered = new Map<string, string>();
function numberPlaceholders(text: string): string {
  let sql = numbered.get(text);
  if (sql === undefined) {
    let n = 0;
    sql = text.replaceAll('?', () => `$${++n}`);
    numbered.set(text, sql);
  }
  return sql;
}

/**
 * Runs `text` with `params` bound to its `?` placeholders, on the EntityManager's connection (its
 * transaction's when it is in one), and returns the rows. Arrays bind as PostgreSQL arrays
 * (`= any(?::uuid[])`, `unnest(?::text[])`), not as lists. `text` must be one of a fixed set
 * (values go in `params`): every distinct text is prepared on the connections that run it.
 * Errors are PostgreSQL's own (with `code` and `constraint`), not MikroORM's exceptions.
 */
export async function query<Row = Record<string, unknown>>(
  em: EntityManager,
  text: string,
  params: readonly unknown[],
): Promise<Row[]> {
  const result = await em.getKysely().executeQuery(CompiledQuery.raw(numberPlaceholders(text), [...params]));
  return result.rows as Row[];
}

/**
 * `query` for a statement whose result nobody reads (a write whose only outcome of interest is
 * an error): in a transaction it may travel with the next statement (see pipelined-client.ts).
 */
export async function queryUnread(
  em: EntityManager,
  text: string,
  params: readonly unknown[],
): Promise<void> {
  await withoutWaiting(() => query(em, text, params));
}
