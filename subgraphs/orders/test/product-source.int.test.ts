// Orders reads unseen products from the products subgraph's instances (PRODUCTS_URL lists them):
// in turn, and past one that refuses connections or says it is unavailable. Real HTTP servers
// standing in for the instances (what they answer is the test's; how orders calls them is not).
import { createServer, type Server } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { freePort } from '../../../scripts/lib/ports.ts';
import { productsSubgraphSource } from '../src/catalog/product-source.ts';

const PRODUCT = {
  id: 'p1',
  sku: 'SKU-1',
  name: 'One',
  active: true,
  price: { amountCents: 500, currency: 'USD' },
};

/** A stand-in instance answering `status` (200: the product) and counting the calls it got. */
async function instance(status: number): Promise<{ url: string; calls: () => number; server: Server }> {
  let calls = 0;
  const server = createServer((req, res) => {
    calls += 1;
    req.resume().on('end', () => {
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(status === 200 ? { data: { _entities: [PRODUCT] } } : { errors: [] }));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  return { url: `http://127.0.0.1:${port}/graphql`, calls: () => calls, server };
}

const servers: Server[] = [];
const noHeaders = async () => ({});
let up: Awaited<ReturnType<typeof instance>>;
let unavailable: Awaited<ReturnType<typeof instance>>;
let refused: string;

beforeAll(async () => {
  up = await instance(200);
  unavailable = await instance(503);
  servers.push(up.server, unavailable.server);
  refused = `http://127.0.0.1:${await freePort()}/graphql`;
});

afterAll(async () => {
  await Promise.all(servers.map((s) => new Promise((resolve) => s.close(resolve))));
});

describe('reading products from several products instances', () => {
  it('takes turns, and goes past an instance that refuses connections or answers 503', async () => {
    const read = productsSubgraphSource([refused, unavailable.url, up.url], noHeaders);
    for (let i = 0; i < 3; i++) expect((await read(['p1'])).map((p) => p.productId)).toEqual(['p1']);
    // Reads started at each instance in turn; every one ended at the instance that is up.
    expect(up.calls()).toBe(3);
    expect(unavailable.calls()).toBe(2);
  });

  it('fails when no instance answers', async () => {
    const read = productsSubgraphSource([refused, unavailable.url], noHeaders);
    await expect(read(['p1'])).rejects.toThrow();
  });
});
