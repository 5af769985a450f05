// Tokens an attacker would try, against the gateway and directly against every subgraph (with a
// valid service token, so only the user token is on trial): forged with a key of their own,
// tampered with, expired, unsigned, HMAC-signed with the public key, or issued for another
// issuer or audience. Every one is UNAUTHENTICATED everywhere; the genuine ones still work.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { startTestSystem, type TestSystem } from '../../test/support/system.ts';
import { randomUUID } from 'node:crypto';
import { Client } from '../support/client.ts';
import { subscribeWs, wsClient } from '../support/live.ts';
import { SUBGRAPH_NAMES, attackTokens, directRequest, genuineAdminToken } from '../support/attack-tokens.ts';

let system: TestSystem;
let client: Client;
let customer: { id: string; token: string };
let attacks: Record<string, string>;

beforeAll(async () => {
  system = await startTestSystem({ env: { RATE_LIMIT_PER_MINUTE: '100000' } });
  client = new Client(system.urls.gateway!);
  customer = await client.registerCustomer();
  attacks = await attackTokens(system, customer);
});

afterAll(async () => {
  await system?.dispose();
});

describe('bad tokens', () => {
  it('are refused by the gateway with HTTP 401 and UNAUTHENTICATED', async () => {
    for (const [name, token] of Object.entries(attacks)) {
      const response = await fetch(system.urls.gateway!, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
        body: JSON.stringify({ query: '{ me { id } }' }),
      });
      const body = (await response.json()) as {
        data?: unknown;
        errors?: { extensions?: { code?: string } }[];
      };
      expect({
        name,
        status: response.status,
        code: body.errors?.[0]?.extensions?.code,
        data: body.data ?? null,
      }).toEqual({ name, status: 401, code: 'UNAUTHENTICATED', data: null });
    }
  });

  it('are refused by every subgraph called directly, even with a valid service token', async () => {
    for (const subgraph of SUBGRAPH_NAMES) {
      for (const [name, token] of Object.entries(attacks)) {
        const { status, body } = await directRequest(
          system,
          subgraph,
          '{ __typename }',
          {},
          { token, asService: 'gateway' },
        );
        expect({
          subgraph,
          name,
          status,
          code: body.errors?.[0]?.extensions?.code,
          data: body.data ?? null,
        }).toEqual({
          subgraph,
          name,
          status: 401,
          code: 'UNAUTHENTICATED',
          data: null,
        });
      }
    }
  });

  it('are refused on the gateway WebSocket: the connection closes with 4401 before any result', async () => {
    for (const [name, token] of Object.entries(attacks)) {
      const socket = wsClient(system.urls.gatewayWs!, token);
      try {
        const live = subscribeWs(socket, { id: randomUUID() });
        const ending = (await live.ended()) as { kind: string; error?: { code?: number } };
        expect({ name, kind: ending.kind, code: ending.error?.code, results: live.results }).toEqual({
          name,
          kind: 'error',
          code: 4401,
          results: [],
        });
      } finally {
        await socket.dispose();
      }
    }
  });

  it('are told apart from genuine tokens, which work through the gateway and directly', async () => {
    expect((await client.data('{ me { id role } }', {}, customer.token)).me).toEqual({
      id: customer.id,
      role: 'CUSTOMER',
    });
    // Signed with the real key, unexpired, the right issuer and audience: what "expired" and
    // "other issuer" would be without their one flaw.
    const realKey = await genuineAdminToken(system, customer.id);
    expect((await client.data('{ me { id } }', {}, realKey)).me).toEqual({ id: customer.id });
    for (const subgraph of SUBGRAPH_NAMES) {
      const { status, body } = await directRequest(
        system,
        subgraph,
        '{ __typename }',
        {},
        { token: customer.token, asService: 'gateway' },
      );
      expect({ subgraph, status, body }).toEqual({
        subgraph,
        status: 200,
        body: { data: { __typename: 'Query' } },
      });
    }
  });
});
