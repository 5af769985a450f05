import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { RemoteGraphQLDataSource, type GraphQLDataSourceProcessOptions } from '@apollo/gateway';
import { GraphQLError } from 'graphql';
import { createSubgraphFetcher, type SubgraphFetcher } from './fetcher.ts';
import { sendToSubgraph } from './send.ts';

/** A subgraph stand-in on a free port: answers each request as `reply` says, records what came. */
let server: Server;
let url: string;
let subgraph: SubgraphFetcher;
const received: { headers: IncomingHttpHeaders; body: unknown }[] = [];
let reply: { status: number; headers: Record<string, string>; body: string } = {
  status: 200,
  headers: { 'content-type': 'application/json' },
  body: '{"data":{"order":{"id":"1"}}}',
};

beforeAll(async () => {
  server = createServer((req, res) => {
    let body = '';
    req.on('data', (chunk: Buffer) => (body += chunk.toString()));
    req.on('end', () => {
      received.push({ headers: req.headers, body: JSON.parse(body) });
      res.writeHead(reply.status, reply.headers).end(reply.body);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/graphql`;
  subgraph = createSubgraphFetcher({ connections: 2, timeoutMs: 5_000 });
});

afterAll(async () => {
  await subgraph.close();
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

function fetchOptions(restrict?: (hint: unknown) => void): GraphQLDataSourceProcessOptions {
  return {
    kind: 'incoming operation',
    request: { query: 'query($id: ID!) { order(id: $id) { id } }', variables: { id: '1' } },
    context: {},
    incomingRequestContext: { overallCachePolicy: restrict ? { restrict } : undefined },
  } as unknown as GraphQLDataSourceProcessOptions;
}

describe('sendToSubgraph', () => {
  it('posts the query as JSON with the given headers and answers the parsed body beside the HTTP answer', async () => {
    const source = new RemoteGraphQLDataSource({ url, fetcher: subgraph.fetcher });
    const response = await sendToSubgraph(source, url, fetchOptions(), { Authorization: 'Bearer t' });
    expect(response.data).toEqual({ order: { id: '1' } });
    expect(response.http?.headers.get('Content-Type')).toBe('application/json');
    const last = received.at(-1)!;
    expect(last.headers['content-type']).toBe('application/json');
    expect(last.headers.authorization).toBe('Bearer t');
    expect(last.body).toEqual({ query: 'query($id: ID!) { order(id: $id) { id } }', variables: { id: '1' } });
  });

  it("restricts the client request's cache policy by the subgraph's cache-control", async () => {
    reply = { ...reply, headers: { ...reply.headers, 'cache-control': 'max-age = "30" , private' } };
    const hints: unknown[] = [];
    const source = new RemoteGraphQLDataSource({ url, fetcher: subgraph.fetcher });
    await sendToSubgraph(
      source,
      url,
      fetchOptions((hint) => hints.push(hint)),
      {},
    );
    expect(hints).toEqual([{ maxAge: 30, scope: 'PRIVATE' }]);
  });

  it('leaves the cache policy alone when the data source does not honor subgraph cache-control', async () => {
    reply = { ...reply, headers: { ...reply.headers, 'cache-control': 'max-age=30, private' } };
    const hints: unknown[] = [];
    const source = new RemoteGraphQLDataSource({ url, fetcher: subgraph.fetcher });
    source.honorSubgraphCacheControlHeader = false;
    await sendToSubgraph(
      source,
      url,
      fetchOptions((hint) => hints.push(hint)),
      {},
    );
    expect(hints).toEqual([]);
  });

  it('fails a non-2xx answer as @apollo/gateway does (401 is UNAUTHENTICATED)', async () => {
    reply = { status: 401, headers: { 'content-type': 'text/plain' }, body: 'no' };
    const source = new RemoteGraphQLDataSource({ url, fetcher: subgraph.fetcher });
    const error = await sendToSubgraph(source, url, fetchOptions(), {}).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(GraphQLError);
    expect((error as GraphQLError).extensions.code).toBe('UNAUTHENTICATED');
  });
});
