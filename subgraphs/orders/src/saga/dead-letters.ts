// A saga message that reached the dead-letter stream can never be handled: end that order's
// saga (cancel and undo), so no order waits for an answer that will not come.
import type { EntityManager } from '@mikro-orm/postgresql';
import { isUuid } from '../../../../shared/graphql/batch.ts';
import { DLQ_HEADERS } from '../../../../shared/messaging/dead-letters.ts';
import type { RawMessage } from '../../../../shared/messaging/consumer.ts';
import type { Saga } from './orchestrator.ts';
import { deadLetterReason } from './steps.ts';
import { CONSUMERS, type ConsumerName } from '../../../../shared/messaging/topology.ts';

export function deadLetterHandler(saga: Saga) {
  return async (em: EntityManager, message: RawMessage): Promise<void> => {
    // What notifications could not write about (an order's status event among them) is no step
    // of the saga: the order goes on.
    const consumer = message.headers[DLQ_HEADERS.consumer] as ConsumerName | undefined;
    if (consumer && CONSUMERS[consumer]?.service === 'notifications') return;
    let orderId: unknown;
    try {
      orderId = (JSON.parse(new TextDecoder().decode(message.data)) as { orderId?: unknown }).orderId;
    } catch {
      return; // Not JSON: nothing to end.
    }
    if (!isUuid(orderId)) return;
    await saga.abandon(em, orderId, deadLetterReason(message.headers[DLQ_HEADERS.originalSubject] ?? ''));
  };
}
