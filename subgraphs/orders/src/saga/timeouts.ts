// Cancels orders whose saga step did not answer in time (a service down for too long, a lost
// reply). Runs in every orders instance; SKIP LOCKED hands each overdue order to one of them.
import { BACKGROUND_TRANSACTION, type MikroORM } from '../../../../shared/db/database.ts';
import type { Logger } from '../../../../shared/logger.ts';
import type { Worker } from '../../../../shared/service/subgraph-service.ts';
import type { CommitPublisher } from '../../../../shared/messaging/commit-publisher.ts';
import { transactionalPublishing } from '../../../../shared/messaging/publish-after-commit.ts';
import type { Saga } from './orchestrator.ts';
import { lockOverdueOrderIds } from '../domain/order.store.ts';

const BATCH = 100;

/** `publisher`: sends the cancellations' messages right after their commit (else the outbox relay does). */
export function createTimeoutSweeper(
  orm: MikroORM,
  saga: Saga,
  logger: Logger,
  publisher: CommitPublisher | undefined,
  intervalMs = 1000,
): Worker {
  let timer: NodeJS.Timeout | undefined;
  let sweeping: Promise<void> | undefined;

  async function sweep(): Promise<void> {
    for (;;) {
      const cancelled = await transactionalPublishing(
        orm.em,
        publisher,
        async (em) => {
          const overdue = await lockOverdueOrderIds(em, BATCH);
          for (const id of overdue) await saga.timeOut(em, id);
          return overdue.length;
        },
        BACKGROUND_TRANSACTION,
      );
      if (cancelled > 0) logger.warn({ cancelled }, 'orders cancelled after a saga step timed out');
      if (cancelled < BATCH) return;
    }
  }

  const tick = () => {
    sweeping = sweep()
      .catch((err: unknown) => logger.warn({ err }, 'timeout sweep failed; will retry'))
      .finally(() => {
        if (timer) timer = setTimeout(tick, intervalMs);
      });
  };

  return {
    name: 'saga-timeouts',
    start() {
      timer = setTimeout(tick, intervalMs);
    },
    async stop() {
      clearTimeout(timer);
      timer = undefined;
      await sweeping;
    },
  };
}
