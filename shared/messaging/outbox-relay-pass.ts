// One pass of the outbox relay: take the lead if no other relay has it, delete what was
// published, read the next rows in order and publish them (see outbox-relay.ts).
import type pg from 'pg';
import type { CommitPublisher } from './commit-publisher.ts';
import { qualify } from './topology.ts';
import type { StreamPublisher } from './stream-publisher.ts';
import type { RelayConnection } from './outbox-relay-connection.ts';

const RELAY_LOCK_KEY = 7_263_102;
const BATCH_SIZE = 500;

/** An outbox row as the relay reads it back (outbox.ts's OutboxRow as it was written). */
interface StoredRow {
  seq: string;
  id: string;
  subject: string;
  payload: unknown;
  headers: Record<string, string> | null;
}

export interface RelayPassState {
  readonly connection: RelayConnection;
  readonly streams: StreamPublisher;
  readonly namespace: string;
  readonly publisher?: CommitPublisher;
  /** Rows this relay has published and not yet deleted. */
  unconfirmedDelete: string[];
}

/** Publishes what is committed now if this relay leads (or takes the lead); deletes what was published. */
export async function relayBatch(state: RelayPassState): Promise<{ published: number; more: boolean }> {
  const client = await state.connection.open();
  // Taken together, so that a row is in one list or the other: published here and to be
  // deleted, or still in flight and neither to be sent again nor deleted yet.
  const publishedHere = state.publisher?.takePublished() ?? [];
  const inFlight = state.publisher?.inFlight() ?? [];
  try {
    if (!state.connection.leading) {
      const { rows } = await client.query<{ held: boolean }>('select pg_try_advisory_lock($1) as held', [
        RELAY_LOCK_KEY,
      ]);
      state.connection.leading = rows[0]?.held === true;
      if (!state.connection.leading) {
        if (publishedHere.length > 0) {
          await client.query('delete from outbox where id = any($1::uuid[])', [publishedHere]);
        }
        return { published: 0, more: false };
      }
    }
    return await pass(state, client, publishedHere, inFlight);
  } catch (err) {
    state.publisher?.returnPublished(publishedHere);
    throw err;
  }
}

async function pass(
  state: RelayPassState,
  client: pg.Client,
  publishedHere: readonly string[],
  inFlight: readonly string[],
): Promise<{ published: number; more: boolean }> {
  // Deletes what was published (by the previous pass, or right after its commit) and reads
  // what is next, in one statement. The read does not see the delete (one snapshot), so those
  // rows are excluded by seq and id.
  const { rows } = await client.query<StoredRow>({
    name: 'outbox-relay-pass',
    text: `with published as (delete from outbox where seq = any($1::bigint[]) or id = any($3::uuid[]))
           select seq, id, subject, payload, headers from outbox
            where seq <> all($1::bigint[]) and id <> all($3::uuid[]) and id <> all($4::uuid[])
            order by seq limit $2`,
    values: [state.unconfirmedDelete, BATCH_SIZE, publishedHere, inFlight],
  });
  state.unconfirmedDelete = [];
  if (rows.length === 0) return { published: 0, more: false };
  // Sent in order on one connection, so the stream stores them in order.
  await Promise.all(
    rows.map((row) =>
      state.streams.publish({
        subject: qualify(state.namespace, row.subject),
        payload: JSON.stringify(row.payload),
        msgId: row.id,
        headers: row.headers,
      }),
    ),
  );
  // Deleted by the next pass: if this process dies first, they are published again with the
  // same Nats-Msg-Id and JetStream drops the copies. A full batch means more is waiting.
  state.unconfirmedDelete = rows.map((r) => r.seq);
  return { published: rows.length, more: rows.length === BATCH_SIZE };
}
