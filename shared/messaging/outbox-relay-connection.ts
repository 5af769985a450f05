// The outbox relay's own database connection: opened and listening on first use, opened again
// after it is lost, and the holder of the relay's leadership, which goes with it (see
// outbox-relay.ts).
import pg from 'pg';
import type { Logger } from '../logger.ts';
import { OUTBOX_CHANNEL } from './outbox.ts';
import { DEFAULT_CONNECT_TIMEOUT_MS } from '../db/database.ts';
import { connectionOptions } from '../db/connection-options.ts';

export interface RelayConnectionOptions {
  readonly databaseUrl: string;
  readonly connectTimeoutMs?: number;
  readonly logger: Logger;
  /** A NOTIFY on the outbox channel arrived. */
  readonly onNotification: () => void;
}

export interface RelayConnection {
  /** The connection, opened (and listening) on first use and again after it is lost. */
  open(): Promise<pg.Client>;
  /** The connection being opened or open, if any. */
  readonly opening: Promise<pg.Client> | undefined;
  /** Whether this connection's session holds the leadership lock. */
  leading: boolean;
  /** Forgets the connection and the leadership, without ending it. */
  release(): void;
  /** Ends the connection, and with it the leadership. */
  drop(): Promise<void>;
}

export function createRelayConnection(options: RelayConnectionOptions): RelayConnection {
  const { logger } = options;
  let connection: Promise<pg.Client> | undefined;
  /** The connection once open, until it is lost. */
  let current: pg.Client | undefined;
  let leading = false;

  function release(): void {
    current = undefined;
    connection = undefined;
    leading = false;
  }

  function open(): Promise<pg.Client> {
    connection ??= (async () => {
      const client = new pg.Client(
        connectionOptions(options.databaseUrl, options.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS),
      );
      client.on('notification', options.onNotification);
      // Leadership goes with the connection: the session lock is released by the server. pg
      // reports a connection that ends during a query to the query only, so 'end' counts too.
      const lost = () => {
        if (current !== client) return;
        release();
      };
      client.on('error', (err) => {
        if (current === client) logger.warn({ err }, 'outbox relay connection lost');
        lost();
      });
      client.on('end', lost);
      try {
        await client.connect();
        await client.query(`listen ${OUTBOX_CHANNEL}`);
      } catch (err) {
        connection = undefined;
        await client.end().catch(() => undefined);
        throw err;
      }
      current = client;
      return client;
    })();
    return connection;
  }

  return {
    open,
    get opening() {
      return connection;
    },
    get leading() {
      return leading;
    },
    set leading(value: boolean) {
      leading = value;
    },
    release,
    async drop() {
      const client = current;
      release();
      await client?.end().catch(() => undefined);
    },
  };
}
