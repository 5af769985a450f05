// A transaction whose outbox rows this process publishes itself right after its COMMIT
// (commit-publisher.ts), instead of waking the relay with a NOTIFY for it to read them back.
// The rows are still written in the transaction: the relay publishes them if this process dies
// first. Shared by the consumers and by requests that write messages (placeOrder).
import type { EntityManager, TransactionOptions } from '@mikro-orm/postgresql';
import { deferOutbox, type OutboxRow } from './outbox.ts';
import type { CommitPublisher, PublishSlot } from './commit-publisher.ts';

/**
 * Runs `work` in a transaction of `em` (with `options`); what it enqueues is written to the outbox at the end and,
 * with a publisher, published once the transaction has committed. Without one (a process that
 * runs no messaging), the rows are written with the relay's NOTIFY as usual.
 */
export async function transactionalPublishing<T>(
  em: EntityManager,
  publisher: CommitPublisher | undefined,
  work: (tx: EntityManager) => Promise<T>,
  options?: TransactionOptions,
): Promise<T> {
  let slot: PublishSlot | undefined;
  let written: readonly OutboxRow[] = [];
  try {
    const result = await em.transactional(async (tx) => {
      const writeOutbox = deferOutbox(tx, { notify: !publisher });
      const value = await work(tx);
      written = await writeOutbox();
      // Taken last, just before COMMIT is sent: what keeps per-entity order (commit-publisher.ts).
      if (written.length > 0) slot = publisher?.reserve();
      return value;
    }, options);
    slot?.committed(written);
    return result;
  } catch (err) {
    // Rolled back, or the COMMIT's outcome is unknown: the relay has whatever committed.
    slot?.abandoned();
    throw err;
  }
}
