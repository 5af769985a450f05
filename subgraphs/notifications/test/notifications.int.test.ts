// The notifications subgraph against real PostgreSQL, NATS and a real SMTP server (smtp-server,
// started here): events published as their producers would, emails as the server received them,
// records read back through the subgraph's own GraphQL with real tokens from an in-process users
// subgraph. The whole system through the gateway is in e2e/notifications.e2e.test.ts.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { randomUUID } from 'node:crypto';
import pg from 'pg';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { jetstream, type JetStreamClient } from '@nats-io/jetstream';
import type { RunningService } from '../../../shared/service/subgraph-service.ts';
import { validateMessage, type PayloadOf } from '../../../shared/contracts/index.ts';
import { qualify } from '../../../shared/messaging/topology.ts';
import { dropTestResources, graphqlRequest } from '../../../test/support/system.ts';
import {
  TEST_ADMIN_EMAIL,
  startTestUsers,
  testEnvironment,
  type TestUsers,
} from '../../../test/support/subgraph.ts';
import { SmtpSink } from '../../../test/support/smtp-sink.ts';
import { readNotificationsConfig } from '../src/config.ts';
import { startNotifications } from '../src/server.ts';
import { messageId } from '../src/delivery/mailer.ts';
import { databaseUrl } from '../../../shared/db/database.ts';
import { compileStoreStatement } from '../../../test/support/store-statement.ts';
import { entities } from '../src/domain/entities.ts';
import { migrations } from '../src/migrations/index.ts';
import { indexedStatements } from '../src/domain/notifications.store.ts';

const env = testEnvironment();
let users: TestUsers;
let notifications: RunningService;
let sink: SmtpSink;
let nc: NatsConnection;
let js: JetStreamClient;

interface Account {
  readonly id: string;
  readonly email: string;
  readonly name: string;
  readonly token: string;
}
let admin: Account;

beforeAll(async () => {
  sink = await SmtpSink.start();
  users = await startTestUsers(env);
  const config = env.config('notifications', users.jwksUrl);
  notifications = await startNotifications(
    {
      ...readNotificationsConfig({ SMTP_URL: sink.url, MAIL_RETRY_BASE_MS: '50', MAIL_MAX_ATTEMPTS: '4' }),
      ...config,
    },
    env.logger,
  );
  nc = await connect({ servers: env.resources.natsUrl });
  js = jetstream(nc);
  // The seeded administrator, as users announces it.
  admin = {
    ...claims(users.adminToken),
    email: TEST_ADMIN_EMAIL,
    name: 'Administrator',
    token: users.adminToken,
  };
});

afterAll(async () => {
  try {
    await Promise.allSettled([notifications?.stop(), users?.stop(), nc?.close(), sink?.stop()]);
  } finally {
    await dropTestResources(env.resources);
  }
});

// --- helpers ---

function claims(token: string): { id: string } {
  const payload = JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString('utf8')) as {
    sub: string;
  };
  return { id: payload.sub };
}

/** A customer registered with the users subgraph, whose user event tells notifications of them. */
async function customer(name: string): Promise<Account> {
  const email = `${name.toLowerCase()}-${randomUUID()}@example.com`;
  const registered = await graphqlRequest<{ register: { token: string; user: { id: string } } }>(
    users.service.url,
    'mutation($i: RegisterInput!) { register(input: $i) { token user { id } } }',
    { i: { email, password: 'customer-password', name } },
  );
  if (!registered.data) throw new Error(JSON.stringify(registered.errors));
  return { id: registered.data.register.user.id, email, name, token: registered.data.register.token };
}

async function publish<
  S extends
    | 'users.evt.user_changed'
    | 'orders.evt.status'
    | 'inventory.evt.stock_low'
    | 'products.evt.product_changed',
>(subject: S, payload: PayloadOf<S>, suffix?: string): Promise<void> {
  validateMessage(subject, payload);
  await js.publish(qualify(env.id, suffix ? `${subject}.${suffix}` : subject), JSON.stringify(payload), {
    msgID: randomUUID(),
  });
}

const ITEMS = [
  { productId: randomUUID(), name: 'Blue <Teapot>', quantity: 2, unitPriceCents: 1250 },
  { productId: randomUUID(), name: 'Cup', quantity: 1, unitPriceCents: 499 },
];

/** An order's status events, as orders publishes them (the PENDING one with the order as placed). */
async function orderEvents(
  who: Account,
  statuses: readonly (PayloadOf<'orders.evt.status'>['status'] | [string, string])[],
): Promise<string> {
  const orderId = randomUUID();
  let sequence = 0;
  for (const entry of ['PENDING' as const, ...statuses]) {
    const [status, reason] = Array.isArray(entry) ? entry : [entry, null];
    await publish(
      'orders.evt.status',
      {
        v: 1,
        orderId,
        customerId: who.id,
        status: status as PayloadOf<'orders.evt.status'>['status'],
        sequence: ++sequence,
        reason,
        at: new Date().toISOString(),
        ...(status === 'PENDING' ? { order: { items: ITEMS, amountCents: 2999, currency: 'USD' } } : {}),
      },
      orderId,
    );
  }
  return orderId;
}

interface NotificationView {
  id: string;
  template: string;
  status: string;
  attempts: number;
  subject: string;
  failureReason: string | null;
  sentAt: string | null;
  order: { id: string } | null;
}

const NOTIFICATIONS = `query($id: ID!) {
  _entities(representations: [{ __typename: "User", id: $id }]) {
    ... on User { notifications(first: 50) { totalCount edges { node {
      id template status attempts subject failureReason sentAt order { id }
    } } } }
  }
}`;

function readNotifications(userId: string, token?: string) {
  return graphqlRequest<{
    _entities: { notifications: { totalCount: number; edges: { node: NotificationView }[] } }[];
  }>(notifications.url, NOTIFICATIONS, { id: userId }, token);
}

async function notificationsOf(who: Account): Promise<NotificationView[]> {
  const response = await readNotifications(who.id, who.token);
  expect(response.errors).toBeUndefined();
  return response.data!._entities[0]!.notifications.edges.map((e) => e.node);
}

/** Polls the records until `check` holds (the records are the subgraph's own state). */
async function recordsUntil(
  who: Account,
  check: (records: NotificationView[]) => boolean,
  timeoutMs = 20_000,
): Promise<NotificationView[]> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const records = await notificationsOf(who);
    if (check(records)) return records;
    if (Date.now() > deadline) throw new Error(`records never matched: ${JSON.stringify(records)}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

const settled = (records: NotificationView[], count: number) =>
  records.length === count && records.every((r) => r.status !== 'PENDING');

// --- tests ---

describe('order emails', () => {
  it('writes a confirmed order once, with its items and total, under a Message-ID derived from the record', async () => {
    const alice = await customer('Alice');
    const orderId = await orderEvents(alice, [
      'INVENTORY_RESERVED',
      'PAYMENT_AUTHORIZED',
      'CONFIRMED',
      'SHIPPED',
    ]);
    await sink.until((s) => s.to(alice.email).length === 2, 'confirmed and shipped emails');

    const records = await recordsUntil(alice, (r) => settled(r, 2));
    expect(records.map((r) => [r.template, r.status, r.attempts])).toEqual([
      ['ORDER_SHIPPED', 'SENT', 1],
      ['ORDER_CONFIRMED', 'SENT', 1],
    ]);
    expect(records.every((r) => r.order?.id === orderId && r.sentAt)).toBe(true);
    const mails = sink.to(alice.email);
    expect(mails.map((m) => m.messageId).sort()).toEqual(records.map((r) => messageId(r.id)).sort());
    const confirmed = mails.find((m) => m.headers.get('x-notification-template') === 'ORDER_CONFIRMED')!;
    expect(confirmed.subject).toBe(`Your order ${orderId.slice(0, 8)} is confirmed`);
    expect(confirmed.headers.get('x-order-id')).toBe(orderId);
    expect(confirmed.decoded).toContain('2 x Blue <Teapot>  $25.00');
    expect(confirmed.decoded).toContain('Total: $29.99');
    // The HTML part escapes the product's name.
    expect(confirmed.decoded).toContain('Blue &lt;Teapot&gt;');
  });

  it('writes a cancelled order with the reason in words, and nothing for the steps before', async () => {
    const bea = await customer('Bea');
    await orderEvents(bea, ['INVENTORY_RESERVED', ['CANCELLED', 'PAYMENT_DECLINED']]);
    await sink.until((s) => s.to(bea.email).length === 1, 'cancelled email');
    const [mail] = sink.to(bea.email);
    expect(mail!.decoded).toContain('your payment was declined');
    expect((await recordsUntil(bea, (r) => settled(r, 1))).map((r) => r.template)).toEqual([
      'ORDER_CANCELLED',
    ]);
  });

  it('records one notification however often its event comes', async () => {
    const cy = await customer('Cy');
    const orderId = await orderEvents(cy, ['CONFIRMED']);
    // The same fact again, as a new message (a producer that published twice).
    await publish(
      'orders.evt.status',
      {
        v: 1,
        orderId,
        customerId: cy.id,
        status: 'CONFIRMED',
        sequence: 2,
        reason: null,
        at: new Date().toISOString(),
      },
      orderId,
    );
    // Something after it, to know the second one has been handled.
    await publish(
      'orders.evt.status',
      {
        v: 1,
        orderId,
        customerId: cy.id,
        status: 'SHIPPED',
        sequence: 3,
        reason: null,
        at: new Date().toISOString(),
      },
      orderId,
    );
    await sink.until((s) => s.to(cy.email).length === 2, 'confirmed and shipped emails');
    expect((await recordsUntil(cy, (r) => settled(r, 2))).map((r) => r.template)).toEqual([
      'ORDER_SHIPPED',
      'ORDER_CONFIRMED',
    ]);
  });
});

describe('delivery', () => {
  it('tries again with growing delays when the server refuses for now, and delivers once', async () => {
    const dan = await customer('Dan');
    sink.refuseNext(2);
    await orderEvents(dan, ['CONFIRMED']);
    await sink.until((s) => s.to(dan.email).length === 1, 'the email after two refusals');
    const [record] = await recordsUntil(dan, (r) => settled(r, 1));
    expect(record).toMatchObject({ status: 'SENT', attempts: 3 });
    expect(sink.to(dan.email)[0]!.messageId).toBe(messageId(record!.id));
  });

  it('records a permanent refusal as FAILED with the reason, and does not try again', async () => {
    const eve = await customer('Eve');
    sink.rejectRecipient(eve.email);
    await orderEvents(eve, ['CONFIRMED']);
    const [record] = await recordsUntil(eve, (r) => settled(r, 1));
    expect(record).toMatchObject({ status: 'FAILED', attempts: 1, sentAt: null });
    expect(record!.failureReason).toMatch(/^SMTP 550/);
    expect(sink.to(eve.email)).toEqual([]);
  });
});

describe('preferences', () => {
  it('keeps the record of an opted-out customer as SKIPPED and sends nothing', async () => {
    const fay = await customer('Fay');
    const set = await graphqlRequest<{
      setNotificationPreferences: { id: string; notificationPreferences: { email: boolean } };
    }>(
      notifications.url,
      'mutation { setNotificationPreferences(input: { email: false }) { id notificationPreferences { email } } }',
      {},
      fay.token,
    );
    expect(set.errors).toBeUndefined();
    expect(set.data!.setNotificationPreferences).toEqual({
      id: fay.id,
      notificationPreferences: { email: false },
    });

    const orderId = await orderEvents(fay, ['CONFIRMED']);
    const [record] = await recordsUntil(fay, (r) => settled(r, 1));
    expect(record).toMatchObject({
      template: 'ORDER_CONFIRMED',
      status: 'SKIPPED',
      attempts: 0,
      order: { id: orderId },
    });
    expect(sink.to(fay.email)).toEqual([]);
  });

  it('refuses preferences to anonymous callers', async () => {
    const response = await graphqlRequest(
      notifications.url,
      'mutation { setNotificationPreferences(input: { email: false }) { id } }',
    );
    expect(response.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
  });
});

describe("a user's notifications", () => {
  const PAGE = `query($id: ID!, $after: String) {
    _entities(representations: [{ __typename: "User", id: $id }]) {
      ... on User { notifications(first: 2, after: $after) {
        totalCount edges { node { id } } pageInfo { hasNextPage endCursor }
      } }
    }
  }`;
  interface Page {
    totalCount: number;
    edges: { node: { id: string } }[];
    pageInfo: { hasNextPage: boolean; endCursor: string | null };
  }

  it("come a page at a time, newest first, each after the last one's cursor, none twice", async () => {
    const dee = await customer('Dee');
    await orderEvents(dee, ['CONFIRMED', 'SHIPPED', 'DELIVERED']);
    const all = await recordsUntil(dee, (r) => settled(r, 3));
    const page = async (after: string | null) => {
      const response = await graphqlRequest<{ _entities: { notifications: Page }[] }>(
        notifications.url,
        PAGE,
        { id: dee.id, after },
        dee.token,
      );
      expect(response.errors).toBeUndefined();
      return response.data!._entities[0]!.notifications;
    };
    const first = await page(null);
    const second = await page(first.pageInfo.endCursor);
    expect([first.pageInfo.hasNextPage, second.pageInfo.hasNextPage]).toEqual([true, false]);
    expect([first.totalCount, second.totalCount]).toEqual([3, 3]);
    expect([...first.edges, ...second.edges].map((e) => e.node.id)).toEqual(all.map((r) => r.id));
  });
});

describe('who may read notifications', () => {
  it('shows them to the user and administrators only, through _entities too', async () => {
    const gus = await customer('Gus');
    const hal = await customer('Hal');
    await orderEvents(gus, ['CONFIRMED']);
    await recordsUntil(gus, (r) => settled(r, 1));

    const other = await readNotifications(gus.id, hal.token);
    expect(other.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
    expect(other.data?._entities?.[0] ?? null).toBeNull();
    const anonymous = await readNotifications(gus.id);
    expect(anonymous.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
    const byAdmin = await readNotifications(gus.id, admin.token);
    expect(byAdmin.errors).toBeUndefined();
    expect(byAdmin.data!._entities[0]!.notifications.totalCount).toBe(1);
  });
});

describe('low-stock alerts', () => {
  it('writes to every administrator once per crossing', async () => {
    // A second administrator, known to notifications only from its event.
    const second = { id: randomUUID(), email: `admin2-${randomUUID()}@example.com`, name: 'Second Admin' };
    await publish(
      'users.evt.user_changed',
      { v: 1, userId: second.id, email: second.email, name: second.name, role: 'ADMIN', revision: 1 },
      second.id,
    );
    const productId = randomUUID();
    await publish('products.evt.product_changed', {
      v: 1,
      productId,
      sku: `SKU-${productId.slice(0, 8)}`,
      name: 'Teapot',
      priceCents: 1250,
      currency: 'USD',
      active: true,
      revision: 1,
    });
    const low = { v: 1 as const, productId, available: 3, threshold: 5 };
    await publish('inventory.evt.stock_low', { ...low, crossing: 1 });
    await publish('inventory.evt.stock_low', { ...low, crossing: 1 });
    await publish('inventory.evt.stock_low', { ...low, available: 1, crossing: 2 });
    const alerts = (address: string) =>
      sink.to(address).filter((m) => m.headers.get('x-notification-template') === 'LOW_STOCK');
    await sink.until(
      () => alerts(admin.email).length === 2 && alerts(second.email).length === 2,
      'two alerts each',
    );
    expect(
      alerts(admin.email)
        .map((m) => m.subject)
        .sort(),
    ).toEqual(['Low stock: Teapot (1 left)', 'Low stock: Teapot (3 left)']);
    // The repeated crossing 1 added nothing: each administrator has exactly two LOW_STOCK records.
    const records = await recordsUntil(admin, (r) => r.filter((n) => n.template === 'LOW_STOCK').length >= 2);
    expect(records.filter((n) => n.template === 'LOW_STOCK')).toHaveLength(2);
  });
});

describe('indexes', () => {
  it('serve the delivery queue, the administrators and a page after a cursor by any plan, the generic one of a prepared statement too', async () => {
    const config = env.config('notifications', users.jwksUrl);
    const statements = await compileStoreStatement(config, env.logger, { entities, migrations }, (em) =>
      indexedStatements(em, new Date(), 20),
    );
    // What each plan must show: the partial index, or the cursor as the index's range rather
    // than a filter over every newer row.
    const expected: Record<keyof typeof statements, RegExp> = {
      claim: /notifications_due/,
      nextDue: /notifications_due/,
      admins: /user_copies_admins/,
      pageAfter:
        /notifications_user on notifications .*\n\s+Index Cond: \(\(user_id = \$1\) AND \(ROW\(created_at, id\) < ROW\(\$2, \$3\)\)\)/,
    };
    const db = new pg.Client({ connectionString: databaseUrl(config.databaseUrl, config.databaseName) });
    await db.connect();
    try {
      // What a pool connection runs once PostgreSQL has settled on a plan for every value; and
      // an index wherever one can serve (these test tables are too small to need it).
      await db.query('set plan_cache_mode = force_generic_plan');
      await db.query('set enable_seqscan = off');
      for (const [name, { sql, parameters }] of Object.entries(statements)) {
        await db.query(`prepare ${name} as ${sql}`);
        const values = parameters.map((p) =>
          p instanceof Date ? `'${p.toISOString()}'` : typeof p === 'string' ? `'${p}'` : String(p),
        );
        const args = values.length > 0 ? `(${values.join(', ')})` : '';
        const { rows } = await db.query<{ 'QUERY PLAN': string }>(`explain execute ${name}${args}`);
        const plan = rows.map((r) => r['QUERY PLAN']).join('\n');
        expect({ name, plan }).toEqual({
          name,
          plan: expect.stringMatching(expected[name as keyof typeof statements]!),
        });
      }
    } finally {
      await db.end();
    }
  });
});
