import type DataLoader from 'dataloader';
import type { BaseContext } from '../../../shared/graphql/subgraph-service.ts';
import type { Order, OrderItem, OrderStatusChange } from './domain/order.entity.ts';
import type { OrderSettings } from './domain/orders.ts';

export interface OrdersContext extends BaseContext {
  readonly orders: DataLoader<string, Order | null>;
  readonly items: DataLoader<string, OrderItem[]>;
  readonly history: DataLoader<string, OrderStatusChange[]>;
  readonly settings: OrderSettings;
}
