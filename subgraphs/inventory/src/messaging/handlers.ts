// What inventory does with each command of the saga. A handler takes the EntityManager of the
// consumer's inbox transaction and the validated payload, changes the reservation, and writes
// the reply to the outbox in that same transaction (see domain/reservations.ts for the rules).
// The NATS consumer that calls these lives elsewhere; it only needs `inventoryCommandHandlers`.
//
// Replies, per command:
//   reserve  -> reserved | reservation_rejected (OUT_OF_STOCK, or ALREADY_RELEASED after a release);
//               a repeated reserve answers again with the recorded outcome; with reserved, a
//               stock_low for each product it took below the low-stock threshold
//   release  -> released, unless the reservation is COMMITTED (no reply: only restock undoes a sale)
//   commit   -> committed when the reservation is (or already was) COMMITTED; otherwise no reply
//   restock  -> restocked (a RESERVED reservation is released; nothing held is nothing to give back)
import type { EntityManager } from '@mikro-orm/postgresql';
import type { PayloadOf } from '../../../../shared/contracts/index.ts';
import { enqueue, type OutgoingMessage } from '../../../../shared/messaging/outbox.ts';
import { stockLowEvents } from '../domain/low-stock.ts';
import {
  commit,
  lockStockForCommands,
  release,
  reserve,
  restock,
  type ReservationChange,
  type ReserveResult,
  type StockCommand,
} from '../domain/reservations.ts';

export type InventoryCommand =
  'inventory.cmd.reserve' | 'inventory.cmd.release' | 'inventory.cmd.commit' | 'inventory.cmd.restock';

export type CommandHandler<S extends InventoryCommand, R = unknown> = (
  em: EntityManager,
  payload: PayloadOf<S>,
) => Promise<R>;

export interface InventorySettings {
  /** Available units (summed over warehouses) below which a product is low on stock. */
  readonly lowStockThreshold: number;
}

export async function handleReserve(
  em: EntityManager,
  payload: PayloadOf<'inventory.cmd.reserve'>,
  { lowStockThreshold }: InventorySettings,
): Promise<ReserveResult> {
  const { orderId } = payload;
  const result = await reserve(em, orderId, payload.items, { lowStockThreshold });
  await enqueue(em, [
    result.outcome === 'RESERVED'
      ? { subject: 'inventory.evt.reserved', payload: { v: 1, orderId } }
      : { subject: 'inventory.evt.reservation_rejected', payload: { v: 1, orderId, reason: result.reason } },
    ...(result.outcome === 'RESERVED' ? stockLowEvents(lowStockThreshold, result.lowStock ?? []) : []),
  ]);
  return result;
}

export async function handleRelease(
  em: EntityManager,
  payload: PayloadOf<'inventory.cmd.release'>,
): Promise<ReservationChange> {
  const result = await release(em, payload.orderId);
  if (result.status !== 'COMMITTED') {
    await enqueue(em, [{ subject: 'inventory.evt.released', payload: { v: 1, orderId: payload.orderId } }]);
  }
  return result;
}

export async function handleCommit(
  em: EntityManager,
  payload: PayloadOf<'inventory.cmd.commit'>,
): Promise<ReservationChange> {
  const result = await commit(em, payload.orderId);
  if (result.status === 'COMMITTED') {
    await enqueue(em, [{ subject: 'inventory.evt.committed', payload: { v: 1, orderId: payload.orderId } }]);
  }
  return result;
}

export async function handleRestock(
  em: EntityManager,
  payload: PayloadOf<'inventory.cmd.restock'>,
): Promise<ReservationChange> {
  const result = await restock(em, payload.orderId);
  const reply: OutgoingMessage = {
    subject: 'inventory.evt.restocked',
    payload: { v: 1, orderId: payload.orderId },
  };
  await enqueue(em, [reply]);
  return result;
}

/** Inventory's consumer of saga commands as the subgraph runs it (server.ts): handlers and prepareBatch. */
export function inventoryCommandConsumer(settings: InventorySettings) {
  return { handlers: inventoryCommandHandlers(settings), prepareBatch: prepareCommandBatch };
}

/** Subject -> handler, for the consumer that wires inventory's commands. */
export function inventoryCommandHandlers(settings: InventorySettings): {
  readonly [S in InventoryCommand]: CommandHandler<S>;
} {
  return {
    'inventory.cmd.reserve': (em, payload) => handleReserve(em, payload, settings),
    'inventory.cmd.release': handleRelease,
    'inventory.cmd.commit': handleCommit,
    'inventory.cmd.restock': handleRestock,
  };
}

/**
 * The consumer's prepareBatch: a batch locks the stock rows of all its commands first, in one
 * fixed order, so batches on several instances never deadlock (domain/reservations.ts). The
 * consumer passes only payloads its contracts accepted: each has an orderId, a reserve items.
 */
export function prepareCommandBatch(em: EntityManager, payloads: readonly unknown[]): Promise<void> {
  return lockStockForCommands(em, payloads as readonly StockCommand[]);
}
