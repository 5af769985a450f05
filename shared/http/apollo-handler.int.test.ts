// An Apollo Server behind createApolloHandler on a real socket: the body is read only when the
// context asks for it, so a context that refuses from the headers answers without reading it.
import { createServer, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { ApolloServer, type BaseContext } from '@apollo/server';
import { GraphQLError } from 'graphql';
import { sendSlowly } from '../../test/support/slow-sender.ts';
import { MAX_BODY_BYTES, createApolloHandler } from './apollo-handler.ts';

let apollo: ApolloServer<BaseContext>;
let server: Server;
let port: number;
/** How many times the body was asked for, over all requests. */
let reads = 0;

beforeAll(async () => {
  apollo = new ApolloServer<BaseContext>({
    typeDefs: 'type Query { hello: String }',
    resolvers: { Query: { hello: () => 'world' } },
    stopOnTerminationSignals: false,
  });
  await apollo.start();
  const handle = createApolloHandler<BaseContext>(apollo, async (req, read) => {
    // Refused from the headers alone, as the gateway refuses a bad token or a spent limit.
    if (req.headers['x-refuse'])
      throw new GraphQLError('Refused', { extensions: { code: 'UNAUTHENTICATED', http: { status: 401 } } });
    if (req.headers['x-read'] !== 'after') {
      reads++;
      await read();
    }
    return {};
  });
  server = createServer((req, res) => void handle(req, res));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  port = (server.address() as AddressInfo).port;
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
  await apollo.stop();
});

interface Answer {
  readonly status: number;
  readonly text: string;
  readonly error?: string;
}

/**
 * POSTs `sent`, whole, or (with `length`) as the first bytes of a body of that length, or
 * chunked, that is never finished. Settles with the answer, or the error that came instead.
 */
function post(
  headers: Record<string, string | number>,
  sent: string | Buffer,
  options: { length?: number | 'chunked'; agent?: false } = {},
): Promise<Answer> {
  const { length } = options;
  return new Promise((resolve) => {
    const req = request(
      {
        port,
        host: '127.0.0.1',
        method: 'POST',
        ...(options.agent === false ? { agent: false } : {}),
        headers: {
          'content-type': 'application/json',
          ...(length === 'chunked'
            ? { 'transfer-encoding': 'chunked' }
            : { 'content-length': length ?? Buffer.byteLength(sent) }),
          ...headers,
        },
      },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (text += chunk));
        res.on('end', () => {
          resolve({ status: res.statusCode ?? 0, text });
          req.destroy();
        });
      },
    );
    req.on('error', (err: NodeJS.ErrnoException) => resolve({ status: 0, text: '', error: err.code }));
    if (length === undefined) req.end(sent);
    else req.write(sent);
  });
}

const QUERY = JSON.stringify({ query: '{ hello }' });

describe('createApolloHandler', () => {
  it('reads the body when the context asks for it, and runs the operation', async () => {
    expect(await post({}, QUERY)).toEqual({ status: 200, text: '{"data":{"hello":"world"}}\n' });
  });

  it('reads the body after the context when the context did not ask for it', async () => {
    expect(await post({ 'x-read': 'after' }, QUERY)).toEqual({
      status: 200,
      text: '{"data":{"hello":"world"}}\n',
    });
  });

  it('answers a refusal from the headers as Apollo does, without waiting for the body', async () => {
    const before = reads;
    // 512 KB announced, a few bytes sent, the rest never: an answer that comes was given unread.
    const answer = await post({ 'x-refuse': '1' }, '{"query":', { length: 512 * 1024 });
    expect(answer.status).toBe(401);
    expect(JSON.parse(answer.text)).toEqual({
      errors: [{ message: 'Refused', extensions: { code: 'UNAUTHENTICATED' } }],
    });
    expect(reads).toBe(before);
  });

  it('keeps a Connection: close socket open for the rest of a refused body, then closes it', async () => {
    // The answer is written at once but the response ends only once the body has been drained
    // (test/support/slow-sender.ts says why).
    const { text, closedAfter } = await sendSlowly({ host: '127.0.0.1', port }, '/', [
      'Content-Type: application/json',
      'X-Refuse: 1',
    ]);
    expect(text).toMatch(/^HTTP\/1\.1 401/);
    // Not closed before the whole body was sent.
    expect(closedAfter).toBe(4);
  });

  it('answers 413 to an announced oversize body before the context is made', async () => {
    const before = reads;
    const answer = await post({}, '{', { length: MAX_BODY_BYTES + 1 });
    expect(answer.status).toBe(413);
    expect(reads).toBe(before);
  });

  it('answers 413 to a body that passes the limit without announcing it', async () => {
    const answer = await post({}, Buffer.alloc(MAX_BODY_BYTES + 1, 0x20), { length: 'chunked' });
    expect(answer).toEqual({
      status: 413,
      text: `{"errors":[{"message":"The request body is larger than ${MAX_BODY_BYTES} bytes","extensions":{"code":"BAD_USER_INPUT"}}]}`,
    });
  });
});
