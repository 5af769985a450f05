// The order's life cycle as data: which status may follow which. Pure; the saga and the
// mutations ask it before every change, so an illegal transition is a CONFLICT, never a write.
import { ConflictError } from '../../../../shared/errors.ts';
import { ORDER_STATUSES } from '../../../../shared/contracts/index.ts';

export type OrderStatus = (typeof ORDER_STATUSES)[number];
export { ORDER_STATUSES };

const NEXT: Readonly<Record<OrderStatus, readonly OrderStatus[]>> = {
  PENDING: ['INVENTORY_RESERVED', 'CANCELLED'],
  INVENTORY_RESERVED: ['PAYMENT_AUTHORIZED', 'CANCELLED'],
  PAYMENT_AUTHORIZED: ['CONFIRMED', 'CANCELLED'],
  CONFIRMED: ['SHIPPED', 'CANCELLED'],
  SHIPPED: ['DELIVERED', 'CANCELLED'],
  DELIVERED: [],
  CANCELLED: [],
};

export const TERMINAL_STATUSES: ReadonlySet<OrderStatus> = new Set(['DELIVERED', 'CANCELLED']);
/** Statuses in which the saga is still working and a step deadline applies. */
export const IN_FLIGHT_STATUSES: readonly OrderStatus[] = [
  'PENDING',
  'INVENTORY_RESERVED',
  'PAYMENT_AUTHORIZED',
];

export function canTransition(from: OrderStatus, to: OrderStatus): boolean {
  return NEXT[from].includes(to);
}

export function assertTransition(from: OrderStatus, to: OrderStatus): void {
  if (!canTransition(from, to)) {
    throw new ConflictError(`An order that is ${from} cannot become ${to}`, { from, to });
  }
}

export type Canceller = 'CUSTOMER' | 'ADMIN';

/** A customer may cancel until the order ships; an administrator until it is delivered. */
export function assertCancellable(status: OrderStatus, by: Canceller): void {
  if (by === 'CUSTOMER' && (status === 'SHIPPED' || status === 'DELIVERED')) {
    throw new ConflictError(`An order that is ${status} can no longer be cancelled by its customer`, {
      from: status,
    });
  }
  assertTransition(status, 'CANCELLED');
}
