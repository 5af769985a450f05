// A saga message that reached the dead-letter stream can never be handled: end that order's
// saga (cancel and undo), so no order waits for an answer that will not come.
import type { EntityManager } from '@mikro-orm/postgresql';
import { isUuid } from '../../../../shared/graphql/batch.ts';
import { DLQ_HEADERS } from '../../../../shared/messaging/dead-letters.ts';
import type { RawMessage } from '../../../../shared/messaging/consumer.ts';
import type { Saga } from './orchestrator.ts';
import { deadLetterReason } from './steps.ts';

export function deadLetterHandler(saga: Saga) {
  return async (em: EntityManager, message: RawMessage): Promise<void> => {
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
