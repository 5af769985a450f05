import type { BaseContext } from '../../../shared/graphql/subgraph-service.ts';

export type NotificationsContext = BaseContext;
