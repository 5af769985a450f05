// users announces every account, and every change of its email, name or role, as
// `users.evt.user_changed` with a growing revision: the seeded administrator, a registered
// customer, and an account a later start makes ADMIN. Real users subgraph, PostgreSQL and NATS:
// the events are read from the USERS stream, where users' outbox relay put them. Databases and
// streams are removed afterwards whatever happens.
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { jetstreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import { validateMessage, type PayloadOf } from '../../../shared/contracts/index.ts';
import type { RunningService } from '../../../shared/service/subgraph-service.ts';
import { qualify, streamName } from '../../../shared/messaging/topology.ts';
import { dropTestResources, graphqlRequest } from '../../../test/support/system.ts';
import {
  TEST_ADMIN_EMAIL,
  startTestUsers,
  testEnvironment,
  type TestUsers,
} from '../../../test/support/subgraph.ts';
import { StreamEvents, type StreamEvent } from '../../../test/support/stream-events.ts';
import { openDatabase } from '../../../shared/db/database.ts';
import { startUsers } from '../src/server.ts';
import { migrations } from '../src/migrations/index.ts';
import { User } from '../src/domain/user.entity.ts';
import { SigningKey } from '../src/domain/signing-key.entity.ts';

type UserChanged = PayloadOf<'users.evt.user_changed'>;

const env = testEnvironment();
let users: TestUsers | undefined;
let events: StreamEvents | undefined;

/** Every user event read so far, in stream order, each checked against the contract and its subject. */
const seen: UserChanged[] = [];

/** The first user event (read so far or next) that matches. */
async function eventWhere(match: (event: UserChanged) => boolean): Promise<UserChanged> {
  for (let i = 0; ; i++) {
    if (i === seen.length) {
      const event: StreamEvent = await events!.next();
      const payload = validateMessage('users.evt.user_changed', event.payload);
      expect(event.subject).toBe(`users.evt.user_changed.${payload.userId}`);
      seen.push(payload);
    }
    if (match(seen[i]!)) return seen[i]!;
  }
}

async function register(email: string, name: string): Promise<string> {
  const result = await graphqlRequest<{ register: { user: { id: string } } }>(
    users!.service.url,
    'mutation($i: RegisterInput!) { register(input: $i) { user { id } } }',
    { i: { email, password: 'customer-password', name } },
  );
  expect(result.errors).toBeUndefined();
  return result.data!.register.user.id;
}

/** What the USERS stream holds for one user: its latest event only. */
async function storedFor(userId: string): Promise<number> {
  const nc = await connect({ servers: env.resources.natsUrl });
  try {
    const subject = qualify(env.id, `users.evt.user_changed.${userId}`);
    const info = await (
      await jetstreamManager(nc)
    ).streams.info(streamName(env.id, 'USERS'), {
      subjects_filter: subject,
    });
    return info.state.subjects?.[subject] ?? 0;
  } finally {
    await nc.close();
  }
}

beforeAll(async () => {
  users = await startTestUsers(env);
  events = await StreamEvents.open(env.resources, 'USERS');
});

afterAll(async () => {
  const results = await Promise.allSettled([events?.close(), users?.stop()]);
  await dropTestResources(env.resources);
  for (const r of results) if (r.status === 'rejected') throw r.reason;
});

describe('users.evt.user_changed', () => {
  test('the seeded administrator, a registered customer, and a customer made ADMIN by a later start', async () => {
    const admin = await eventWhere((e) => e.email === TEST_ADMIN_EMAIL);
    expect(admin).toMatchObject({ v: 1, email: TEST_ADMIN_EMAIL, role: 'ADMIN', revision: 1 });

    const email = `ada-${randomBytes(4).toString('hex')}@example.com`;
    const id = await register(email, 'Ada Lovelace');
    expect(await eventWhere((e) => e.userId === id)).toEqual({
      v: 1,
      userId: id,
      email,
      name: 'Ada Lovelace',
      role: 'CUSTOMER',
      revision: 1,
    });

    // A second instance configured with her address as ADMIN_EMAIL: her role changes, nothing else.
    let second: RunningService | undefined;
    try {
      second = await startUsers(
        {
          ...env.config('users'),
          adminEmail: email,
          adminPassword: 'customer-password',
          tokenTtlSeconds: 900,
        },
        env.logger,
      );
    } finally {
      await second?.stop();
    }
    expect(await eventWhere((e) => e.userId === id && e.revision > 1)).toEqual({
      v: 1,
      userId: id,
      email,
      name: 'Ada Lovelace',
      role: 'ADMIN',
      revision: 2,
    });
    // The stream keeps the latest state of each user, however old.
    expect(await storedFor(id)).toBe(1);
    expect(await storedFor(admin.userId)).toBe(1);
  });

  test('an address the events cannot carry is refused at registration, and nothing is published', async () => {
    const refused = await graphqlRequest(
      users!.service.url,
      'mutation($i: RegisterInput!) { register(input: $i) { user { id } } }',
      { i: { email: 'adä@example.com', password: 'customer-password', name: 'Ada' } },
    );
    expect(refused.errors?.[0]?.extensions).toEqual({ code: 'BAD_USER_INPUT', field: 'input.email' });
    const email = `grace-${randomBytes(4).toString('hex')}@example.com`;
    const id = await register(email, 'Grace Hopper');
    // Events come in commit order: none was written for the refused address before Grace's.
    expect(await eventWhere((e) => e.userId === id)).toMatchObject({ email, revision: 1 });
    expect(seen.filter((e) => e.email === 'adä@example.com')).toEqual([]);
  });

  test('accounts that exist before the migration are published once by it', async () => {
    const database = (count: number) =>
      openDatabase({
        serverUrl: env.resources.databaseUrl,
        databaseName: `${env.id}_users_backfill`,
        entities: [User, SigningKey],
        migrations: migrations.slice(0, count),
        logger: env.logger,
      });
    const before = await database(migrations.length - 1);
    try {
      await before.em.fork().execute(
        `insert into users (id, email, name, role, password_hash, created_at)
           values (gen_random_uuid(), 'old@example.com', 'Old Timer', 'CUSTOMER', 'x', now())`,
      );
    } finally {
      await before.close();
    }
    const after = await database(migrations.length);
    try {
      const rows = await after.em
        .fork()
        .execute<{ subject: string; payload: unknown }[]>('select subject, payload from outbox');
      expect(rows).toHaveLength(1);
      const payload = validateMessage('users.evt.user_changed', rows[0]!.payload);
      expect(payload).toMatchObject({
        email: 'old@example.com',
        name: 'Old Timer',
        role: 'CUSTOMER',
        revision: 1,
      });
      expect(rows[0]!.subject).toBe(`users.evt.user_changed.${payload.userId}`);
    } finally {
      await after.close();
    }
  });
});
