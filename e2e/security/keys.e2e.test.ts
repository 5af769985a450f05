// Signing keys rotate without downtime: `npm run keys -- rotate` adds a key that the running
// users subgraph publishes at once and signs with a little later, without a restart; every token
// issued before, during and after the rotation is accepted by the gateway and the subgraphs, and
// the old key keeps verifying until its tokens have expired.
import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { decodeProtectedHeader } from 'jose';
import { startTestSystem, type TestSystem } from '../../test/support/system.ts';
import { REPO_ROOT } from '../../scripts/lib/services.ts';
import { Client } from '../support/client.ts';
import { directRequest } from '../support/attack-tokens.ts';

const run = promisify(execFile);
/** Long enough for the users instance (re-reading every second) and the verifiers' refetch
 *  cooldown; what `keys list` says is checked against when it ran (scheduleBetween). */
const ACTIVATE_IN_SECONDS = 12;

let system: TestSystem;
let client: Client;

beforeAll(async () => {
  system = await startTestSystem({
    env: { RATE_LIMIT_PER_MINUTE: '100000' },
    processEnv: { users: { SIGNING_KEY_REFRESH_SECONDS: '1' } },
  });
  client = new Client(system.urls.gateway!);
});

afterAll(async () => {
  await system?.dispose();
});

async function keys(...args: string[]): Promise<unknown> {
  const { stdout } = await run(process.execPath, [path.join('scripts', 'keys.ts'), ...args, '--json'], {
    cwd: REPO_ROOT,
    env: { ...process.env, DATABASE_URL: system.databaseUrl, DATABASE_PREFIX: system.id },
  });
  return JSON.parse(stdout);
}

const kidOf = (token: string) => decodeProtectedHeader(token).kid;

interface ListedKey {
  readonly kid: string;
  readonly status: string;
  readonly activatesAt: string;
}

/**
 * What `keys list` run between `from` and `until` says of the old key and the new one that
 * signs from `activatesAt`: before then the old one signs and the new one is pending; after,
 * the new one signs. The CLI is a process of its own, which on a loaded machine can take
 * seconds to start, so a run that straddles the activation may say either.
 */
function scheduleBetween(
  keys: { readonly old: string; readonly new: string },
  from: number,
  until: number,
  activatesAt: number,
): unknown[] {
  if (until < activatesAt) {
    return [
      expect.objectContaining({ kid: keys.old, status: 'signing' }),
      expect.objectContaining({ kid: keys.new, status: 'pending' }),
    ];
  }
  if (from >= activatesAt) {
    return [
      expect.objectContaining({ kid: keys.old, status: 'verifying' }),
      expect.objectContaining({ kid: keys.new, status: 'signing' }),
    ];
  }
  return [expect.objectContaining({ kid: keys.new, status: expect.stringMatching(/^(pending|signing)$/) })];
}

/** The token works through the gateway and directly at a subgraph (which verifies it itself). */
async function expectAccepted(token: string, userId: string): Promise<void> {
  expect((await client.data('{ me { id } }', {}, token)).me).toEqual({ id: userId });
  const direct = await directRequest(
    system,
    'orders',
    '{ myOrders { totalCount } }',
    {},
    { token, asService: 'gateway' },
  );
  expect(direct.body).toEqual({ data: { myOrders: { totalCount: 0 } } });
}

describe('npm run keys -- rotate', () => {
  it('switches to a new key while the tokens of the old one keep working', async () => {
    const customer = await client.registerCustomer();
    const oldKid = kidOf(customer.token);
    await expectAccepted(customer.token, customer.id);

    const rotatedFrom = Date.now();
    const rotation = (await keys('rotate', '--activate-in', String(ACTIVATE_IN_SECONDS))) as { kid: string };
    expect(rotation.kid).not.toBe(oldKid);
    const listedFrom = Date.now();
    const listed = (await keys('list')) as ListedKey[];
    const listedUntil = Date.now();
    const activatesAt = Date.parse(listed.find((k) => k.kid === rotation.kid)?.activatesAt ?? '');
    // The CLI takes its activation time from this machine's clock, after rotatedFrom.
    expect(activatesAt).toBeGreaterThanOrEqual(rotatedFrom + ACTIVATE_IN_SECONDS * 1000);
    const both = { old: oldKid!, new: rotation.kid };
    expect(listed).toEqual(
      expect.arrayContaining(scheduleBetween(both, listedFrom, listedUntil, activatesAt)),
    );

    // Sign in again and again until a token carries the new key: every one on the way, and the
    // old token, is accepted at once.
    const deadline = Date.now() + (ACTIVATE_IN_SECONDS + 20) * 1000;
    let latest = customer.token;
    while (kidOf(latest) !== rotation.kid) {
      expect(Date.now()).toBeLessThan(deadline);
      latest = await client.login(customer.email, 'customer-password');
      await expectAccepted(latest, customer.id);
      await expectAccepted(customer.token, customer.id);
      await new Promise((resolve) => setTimeout(resolve, 300));
    }

    await expectAccepted(latest, customer.id);
    await expectAccepted(customer.token, customer.id);
    expect(await keys('list')).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ kid: oldKid, status: 'verifying', retiresAt: expect.any(String) }),
        expect.objectContaining({ kid: rotation.kid, status: 'signing' }),
      ]),
    );
    const jwks = (await (await fetch(`${system.process('users').baseUrl}/.well-known/jwks.json`)).json()) as {
      keys: { kid: string }[];
    };
    expect(jwks.keys.map((k) => k.kid).sort()).toEqual([oldKid, rotation.kid].sort());
  });
});
