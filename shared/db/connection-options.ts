// The settings of every PostgreSQL connection a service opens (its pool, the outbox relay's, the
// migration lock's, the one that creates its database): DATABASE_URL's own parameters as given
// (sslmode, application_name, options, ...), a connect that gives up after connectTimeoutMs,
// and TCP keep-alive on both ends (keep-alive.ts).
import type pg from 'pg';
import { KEEP_ALIVE } from './keep-alive.ts';

/**
 * pg.Client settings for `url`. pg lets a connection string's parameters override the settings
 * beside it, so the URL's own `options` would drop the server-side keep-alive: they are joined
 * instead, the URL's last, so that a setting it gives wins (PostgreSQL takes the last `-c`).
 */
export function connectionOptions(url: string, connectTimeoutMs: number): pg.ClientConfig {
  const parsed = new URL(url);
  const own = parsed.searchParams.get('options')?.trim();
  parsed.searchParams.delete('options');
  return {
    connectionString: parsed.toString(),
    // pg waits without limit by default, for a server that accepts and never answers too.
    connectionTimeoutMillis: connectTimeoutMs,
    ...KEEP_ALIVE,
    options: own ? `${KEEP_ALIVE.options} ${own}` : KEEP_ALIVE.options,
  };
}

/** `host:port` of a PostgreSQL URL, for messages (never its user or password). */
export function serverAddress(url: string): string {
  const parsed = new URL(url);
  return `${parsed.hostname}:${parsed.port || 5432}`;
}

/**
 * Connects `client`, failing with an error that says where and for how long it tried: pg's own
 * ("Connection terminated due to connection timeout") names neither.
 */
export async function connectClient(client: pg.Client, url: string, connectTimeoutMs: number): Promise<void> {
  try {
    await client.connect();
  } catch (err) {
    await client.end().catch(() => undefined);
    const reason = err instanceof Error ? err.message : String(err);
    throw new Error(
      `could not connect to PostgreSQL at ${serverAddress(url)}: ${reason} (connect timeout ${connectTimeoutMs} ms, DATABASE_CONNECT_TIMEOUT_MS)`,
      { cause: err },
    );
  }
}
