// Runs deliveries' handlers in one database transaction together with their inbox rows, so a
// redelivered message changes nothing: the consumer's unit of work (see consumer.ts).
import { context } from '@opentelemetry/api';
import { BACKGROUND_TRANSACTION, type MikroORM } from '../db/database.ts';
import { queryUnread } from '../db/statements.ts';
import type { ConsumerName } from './topology.ts';
import type { BatchPreparer, BoundHandler, Delivery } from './delivery.ts';
import type { CommitPublisher } from './commit-publisher.ts';
import { transactionalPublishing } from './publish-after-commit.ts';

/** A delivery whose handler can run (not one to dead-letter at once). */
export type Runnable = Delivery & { readonly run: BoundHandler };
export const isRunnable = (d: Delivery): d is Runnable => typeof d.run !== 'string';

export interface InboxTransactionOptions {
  readonly consumer: ConsumerName;
  readonly orm: MikroORM;
  readonly prepareBatch?: BatchPreparer;
  readonly publisher?: CommitPublisher;
}

/**
 * Runs the deliveries' handlers one after another in one transaction, each in its own span's
 * context (so what it enqueues carries its trace on), with one inbox insert and one outbox
 * insert for all of them. Returns the deliveries handled; a message handled before (already
 * in the inbox) leaves a single delivery unhandled, and fails a batch (see settling.ts).
 */
export async function transact(
  options: InboxTransactionOptions,
  deliveries: readonly Runnable[],
): Promise<Set<Delivery>> {
  // Twice in one batch (a redelivery overtook the ack): only the first one counts.
  const seen = new Set<string>();
  const due = deliveries.filter((d) => !seen.has(d.meta.messageId) && seen.add(d.meta.messageId));
  try {
    await transactionalPublishing(
      options.orm.em,
      options.publisher,
      async (em) => {
        // Nobody reads this insert's result, so it travels with BEGIN and the handlers' first
        // statement. A message handled before fails it on the inbox's key, which ends the
        // transaction with nothing done (a concurrent twin's insert waits for our outcome).
        // One message (the usual case below high load) binds its id as it is, not as an array.
        await (seen.size === 1
          ? queryUnread(em, 'insert into inbox (consumer, message_id) values (?, ?)', [
              options.consumer,
              ...seen,
            ])
          : queryUnread(em, 'insert into inbox (consumer, message_id) select ?, unnest(?::text[])', [
              options.consumer,
              [...seen],
            ]));
        // A single message locks what it needs itself; preparing would only add statements.
        if (due.length > 1) {
          await options.prepareBatch?.(
            em,
            due.map((d) => d.payload),
          );
        }
        for (const d of due) await context.with(d.context, () => d.run(em, d.meta));
      },
      BACKGROUND_TRANSACTION,
    );
  } catch (err) {
    // Handled before: one message is a duplicate; a batch is handled one by one by the caller.
    if (due.length === 1 && isInboxConflict(err)) return new Set<Delivery>();
    throw err;
  }
  return new Set<Delivery>(due);
}

/** The inbox already holds the message: a unique violation on its key (raw or via MikroORM). */
const isInboxConflict = (err: unknown): boolean => {
  const { code, constraint } = (err ?? {}) as { code?: unknown; constraint?: unknown };
  return code === '23505' && constraint === 'inbox_pkey';
};
