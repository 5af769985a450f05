// Hive Gateway's configuration for bench/gateway.ts: it forwards what our gateway forwards, so
// both do the same work. The client's Authorization header (Hive Gateway forwards no client
// header unless told; without it every signed-in query answers null, fast) and a service
// token for each subgraph, signed as our gateway signs its own (the subgraphs refuse a call
// without one).
import { defineConfig } from '@graphql-hive/gateway';
import { createServiceHeaders } from '../../shared/auth/service-identity.ts';

const serviceHeaders = createServiceHeaders(process.env.SERVICE_SECRET, 'gateway');

export const gatewayConfig = defineConfig({
  propagateHeaders: {
    async fromClientToSubgraphs({ request, subgraphName }) {
      return {
        authorization: request.headers.get('authorization') ?? undefined,
        ...(await serviceHeaders(subgraphName)),
      };
    },
  },
});
