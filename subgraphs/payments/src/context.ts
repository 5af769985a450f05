import type DataLoader from 'dataloader';
import type { BaseContext } from '../../../shared/service/subgraph-service.ts';
import type { Payment } from './domain/payment.entity.ts';
import type { PaymentEvent } from './domain/payment-event.entity.ts';

export interface PaymentsContext extends BaseContext {
  readonly paymentsById: DataLoader<string, Payment | null>;
  /** The payment of an order, by order id: one query for all the orders of a request. */
  readonly paymentsByOrderId: DataLoader<string, Payment | null>;
  readonly paymentEvents: DataLoader<string, PaymentEvent[]>;
}
