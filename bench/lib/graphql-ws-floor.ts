// The protocol with nothing behind it, as bench:subscriptions' yardstick: a graphql-ws server on
// `ws` (the same libraries and socket options as the gateway's, gateway/src/subscriptions/
// websocket.ts) that accepts any connection_init, and answers any subscription with one event
// and then nothing, from a document parsed once per text. What opening a subscription costs
// here against a bare connection is what graphql-ws and ws cost by themselves: the least any
// server built on them can reach, whatever it does behind them.
//
// `node bench/lib/graphql-ws-floor.ts`: listens on a free port of 127.0.0.1 and prints
// `{"port": N}` on one line; runs until it is killed.
import { createServer } from 'node:http';
import { buildSchema, parse, type DocumentNode, type ExecutionResult } from 'graphql';
import { useServer } from 'graphql-ws/use/ws';
import { WebSocketServer } from 'ws';

const schema = buildSchema(`
  type Order { id: ID! status: String! }
  type Query { order(id: ID!): Order }
  type Subscription { orderStatusChanged(orderId: ID!, afterSequence: Int): Order }
`);
const documents = new Map<string, DocumentNode>();

/** One event, then open until the client leaves (as a live subscription with nothing happening). */
async function* oneEvent(orderId: string): AsyncGenerator<ExecutionResult> {
  yield {
    data: {
      orderStatusChanged: {
        id: orderId,
        status: 'CONFIRMED',
        statusSequence: 4,
        updatedAt: new Date().toISOString(),
      },
    },
  };
  await new Promise(() => undefined);
}

const server = createServer((_req, res) => res.writeHead(404).end());
const wss = new WebSocketServer({ noServer: true, perMessageDeflate: false, maxPayload: 64 * 1024 });
server.on('upgrade', (req, socket, head) =>
  wss.handleUpgrade(req, socket, head, (ws) => wss.emit('connection', ws, req)),
);
useServer(
  {
    onConnect: () => true,
    onSubscribe: (_ctx, _id, payload) => {
      let document = documents.get(payload.query);
      if (!document) documents.set(payload.query, (document = parse(payload.query)));
      return { schema, document, variableValues: payload.variables, operationName: payload.operationName };
    },
    subscribe: (args) => oneEvent(String(args.variableValues?.id)) as never,
  },
  wss,
  12_000,
);
server.listen(0, '127.0.0.1', () => {
  const address = server.address();
  process.stdout.write(
    `${JSON.stringify({ port: typeof address === 'object' && address ? address.port : 0 })}\n`,
  );
});
