import type { BaseContext } from '../../../shared/service/subgraph-service.ts';

export type NotificationsContext = BaseContext;
