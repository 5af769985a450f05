// Statements with bind parameters, for the paths every message takes. `em.execute` writes the
// values into the SQL text, so PostgreSQL parses and plans each statement anew; under the saga
// benchmark that was most of PostgreSQL's CPU. `query` sends the values separately, and the
// pipelined client (pipelined-client.ts) prepares each text once per connection.
import type { EntityManager } from '@mikro-orm/postgresql';

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

// What Kysely needs of a compiled query when it is handed one ready-made.
const RAW_QUERY = { kind: 'RawNode', sqlFragments: [], parameters: [] } as const;
const QUERY_ID = { queryId: 'statement' } as const;

/**
 * Runs `text` with `params` bound to its `?` placeholders, on the EntityManager's connection (its
 * transaction's when it is in one), and returns the rows. Arrays bind as PostgreSQL arrays
 * (`= any(?::uuid[])`, `unnest(?::text[])`), not as lists. `text` must be one of a fixed set
 * (values go in `params`): every distinct text is prepared on every connection that runs it.
 * Errors are PostgreSQL's own (with `code` and `constraint`), not MikroORM's exceptions.
 */
export async function query<Row = Record<string, unknown>>(
  em: EntityManager,
  text: string,
  params: readonly unknown[],
): Promise<Row[]> {
  const compiled = { sql: numberPlaceholders(text), parameters: params, query: RAW_QUERY, queryId: QUERY_ID };
  const result = await em.getKysely().executeQuery(compiled as never);
  return result.rows as Row[];
}
