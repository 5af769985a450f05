import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { graphql, GraphQLRequestError } from './graphql-client.ts';

// A real HTTP server that answers as the gateway does when a client is over its rate limit.
let server: Server;
let url: string;
let refusalsLeft = 0;
let retryAfterSeconds = 1;
let requests = 0;

beforeAll(async () => {
  server = createServer((_request, response) => {
    requests++;
    response.setHeader('content-type', 'application/json');
    if (refusalsLeft > 0) {
      refusalsLeft--;
      response.statusCode = 429;
      response.end(
        JSON.stringify({
          errors: [{ message: 'Too many requests', extensions: { code: 'RATE_LIMITED', retryAfterSeconds } }],
        }),
      );
      return;
    }
    response.end(JSON.stringify({ data: { ok: true } }));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/graphql`;
});

afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

describe('graphql (the scripts client)', () => {
  it('waits out a short RATE_LIMITED refusal and asks again', async () => {
    refusalsLeft = 2;
    retryAfterSeconds = 1;
    requests = 0;
    await expect(graphql(url, '{ ok }')).resolves.toEqual({ ok: true });
    expect(requests).toBe(3);
  });

  it('gives up on a wait too long to sit out, with the refusal as the answer', async () => {
    refusalsLeft = 1;
    retryAfterSeconds = 900;
    requests = 0;
    const refused = await graphql(url, '{ ok }').catch((error: unknown) => error);
    expect(refused).toBeInstanceOf(GraphQLRequestError);
    expect((refused as GraphQLRequestError).codes).toEqual(['RATE_LIMITED']);
    expect(requests).toBe(1);
  });
});
