import type DataLoader from 'dataloader';
import type { EntityManager } from '@mikro-orm/postgresql';
import type { BaseContext } from '../../../shared/service/subgraph-service.ts';
import type { OrderItem, OrderStatusChange } from './domain/order.entity.ts';
import type { OrderWithItems } from './domain/order-reads.store.ts';
import type { OrderSettings } from './domain/orders.ts';

export interface OrdersContext extends BaseContext {
  /** For the read store's statements (outside any transaction): the process's own EntityManager. */
  readonly reads: EntityManager;
  /** Orders by id, each with its lines: one statement for all the ids a request asks for. */
  readonly orders: DataLoader<string, OrderWithItems | null>;
  /** Lines of orders that came without them (those a mutation returns). */
  readonly items: DataLoader<string, OrderItem[]>;
  readonly history: DataLoader<string, OrderStatusChange[]>;
  readonly settings: OrderSettings;
}
