// A short connection to the PostgreSQL server a bench system runs on (the database of its
// DATABASE_URL, not one of the system's own, whose backends the bench counts as the system's),
// for the bench's readings of the server's statistics views between phases.
import pg from 'pg';
import type { TestSystem } from '../../test/support/system.ts';

export async function withServerClient<T>(
  system: TestSystem,
  use: (client: pg.Client) => Promise<T>,
): Promise<T> {
  const client = new pg.Client({ connectionString: system.databaseUrl });
  await client.connect();
  try {
    return await use(client);
  } finally {
    await client.end();
  }
}
