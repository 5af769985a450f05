// Sends what the consumers recorded. A notification is written PENDING in the same transaction
// as the event's inbox row (messaging/handlers.ts); once that commits, this worker is woken
// (onCommit below), takes the PENDING ones that are due, locked, sends each and records the
// outcome in the same transaction: SENT, PENDING again after a growing delay (a transient
// failure), or FAILED with the reason. So a message is sent once when nothing crashes; after a
// crash between sending and that commit it is sent again, with the same Message-ID.
//
// The rows stay locked while they are sent: another instance skips them (SKIP LOCKED), and if
// this process dies the lock goes with its connection, so a restarted (or any other) instance
// finds them PENDING at once, with no lease to wait out.
import type { EntityManager } from '@mikro-orm/postgresql';
import type { Histogram } from 'prom-client';
import {
  BACKGROUND_TRANSACTION,
  backgroundFork,
  withQuerySource,
  type MikroORM,
} from '../../../../shared/db/database.ts';
import type { Logger } from '../../../../shared/logger.ts';
import type { Worker } from '../../../../shared/service/subgraph-service.ts';
import { claimDue, nextDue, saveOutcome } from '../domain/notifications.store.ts';
import type { Notification } from '../domain/entities.ts';
import { PermanentDeliveryError, type Mailer } from './mailer.ts';
import { outcomeOf, type AttemptResult, type RetryPolicy } from './retry.ts';

export interface DeliveryWorkerOptions {
  readonly orm: MikroORM;
  readonly mailer: Mailer;
  readonly logger: Logger;
  readonly retry: RetryPolicy;
  /** Notifications sent together, in one transaction. */
  readonly batchSize?: number;
  /**
   * Batches in flight at once, each on a database connection of its own: while one waits for the
   * mail server, another is sent (SKIP LOCKED gives each its own rows).
   */
  readonly concurrency?: number;
  /** Looks for due notifications at least this often (other instances' retries, missed wake-ups). */
  readonly pollMs?: number;
  /** From a notification's record to the server accepting it, by outcome. */
  readonly latency?: Histogram<'outcome'>;
}

/** Transactions that recorded notifications to send: the worker is woken when one commits. */
const recording = new WeakSet<object>();

/** Called by whoever records PENDING notifications in `em`'s transaction. */
export function willSendAfterCommit(em: EntityManager): void {
  recording.add(em);
}

export interface DeliveryWorker extends Worker {
  /** Look for due notifications now. */
  wake(): void;
}

async function attempt(mailer: Mailer, notification: Notification): Promise<AttemptResult> {
  try {
    await mailer.send(notification);
    return { kind: 'sent' };
  } catch (err) {
    const reason = err instanceof Error ? err.message : String(err);
    if (err instanceof PermanentDeliveryError) return { kind: 'permanent', reason };
    return { kind: 'transient', reason };
  }
}

/** Sends one batch of due notifications in one transaction; returns how many it took. */
function deliverDue(options: DeliveryWorkerOptions, batchSize: number, log: Logger): Promise<number> {
  return options.orm.em.transactional(async (em) => {
    const due = await claimDue(em, new Date(), batchSize);
    const results = await Promise.all(due.map((notification) => attempt(options.mailer, notification)));
    const now = new Date();
    for (const [i, notification] of due.entries()) {
      const outcome = outcomeOf(notification, results[i]!, options.retry, now);
      await saveOutcome(em, outcome);
      options.latency?.observe(
        { outcome: outcome.status },
        (now.getTime() - notification.createdAt.getTime()) / 1000,
      );
      if (outcome.status === 'FAILED') {
        log.warn({ notification: notification.id, reason: outcome.failureReason }, 'notification failed');
      } else if (outcome.status === 'PENDING') {
        log.info(
          { notification: notification.id, attempts: outcome.attempts, reason: outcome.failureReason },
          'sending failed; will retry',
        );
      }
    }
    return due.length;
  }, BACKGROUND_TRANSACTION);
}

export function createDeliveryWorker(options: DeliveryWorkerOptions): DeliveryWorker {
  const { orm, mailer, logger } = options;
  const batchSize = options.batchSize ?? 8;
  const concurrency = options.concurrency ?? 4;
  const pollMs = options.pollMs ?? 5000;
  const log = logger.child({ worker: 'delivery' });
  let running = false;
  let loops: Promise<void>[] = [];
  /** Grows with every wake-up: a loop that saw it change since it looked goes on at once. */
  let wakeUps = 0;
  const sleepers = new Set<() => void>();

  /**
   * One sleeping loop goes on. A commit usually records a notification or two, which one batch
   * takes: waking every loop would have the others each run a transaction that claims nothing.
   * A loop that takes a full batch wakes another (run below), so a backlog is still sent by all.
   */
  const wakeOne = (): void => sleepers.values().next().value?.();
  const wake = (): void => {
    wakeUps += 1;
    wakeOne();
  };

  // A transaction that recorded notifications has committed: they can be sent now.
  orm.em.getEventManager().registerSubscriber({
    afterTransactionCommit: ({ em }) => {
      if (recording.has(em)) wake();
    },
  });

  /** Until woken (after `seen`), the next notification is due, or pollMs has passed. */
  async function sleep(seen: number): Promise<void> {
    if (wakeUps !== seen || !running) return;
    let waitMs = pollMs;
    try {
      const next = await nextDue(backgroundFork(orm));
      if (next) waitMs = Math.max(0, Math.min(pollMs, next.getTime() - Date.now()));
    } catch {
      // The database is away: look again after pollMs.
    }
    if (wakeUps !== seen || !running || waitMs === 0) return;
    await new Promise<void>((resolve) => {
      const stopSleeping = () => {
        clearTimeout(timer);
        sleepers.delete(stopSleeping);
        resolve();
      };
      const timer = setTimeout(stopSleeping, waitMs);
      sleepers.add(stopSleeping);
    });
  }

  async function run(): Promise<void> {
    while (running) {
      const seen = wakeUps;
      let taken = 0;
      try {
        taken = await deliverDue(options, batchSize, log);
      } catch (err) {
        log.warn({ err }, 'delivering notifications failed; trying again later');
      }
      if (taken < batchSize) await sleep(seen);
      else wakeOne();
    }
  }

  return {
    name: 'notifications:delivery',
    wake,
    start() {
      running = true;
      // Whatever is PENDING from before (a crash, a restart) is sent first.
      loops = Array.from({ length: concurrency }, () => withQuerySource('background', () => run()));
    },
    async stop() {
      running = false;
      for (const stopSleeping of [...sleepers]) stopSleeping();
      await Promise.all(loops);
      mailer.close();
    },
  };
}
