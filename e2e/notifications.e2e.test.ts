// Customers hear about their orders (issue 11), with every process, PostgreSQL, NATS and a real
// SMTP server (smtp-server, started here) in play: a confirmed, a declined and a
// shipped-then-delivered order each produce exactly the expected emails, one Message-ID per
// notification, delivered once when nothing crashes; the same when the notifications process is
// SIGKILLed mid-run and restarted while the server refuses the first attempts; an opted-out
// customer gets no email but sees the record; nobody reads another customer's notifications.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { startTestSystem, type TestSystem } from '../test/support/system.ts';
import { SmtpSink } from '../test/support/smtp-sink.ts';
import { messageId } from '../subgraphs/notifications/src/delivery/mailer.ts';
import { Client, OrderEvents, TEST_ADMIN_EMAIL } from './support/client.ts';
import { directRequest } from './support/attack-tokens.ts';

let sink: SmtpSink;
let system: TestSystem;
let client: Client;
let events: OrderEvents;
let admin: string;
let productId: string;

beforeAll(async () => {
  sink = await SmtpSink.start();
  system = await startTestSystem({
    env: { RATE_LIMIT_PER_MINUTE: '100000' },
    processEnv: { notifications: { SMTP_URL: sink.url, MAIL_RETRY_BASE_MS: '200' } },
  });
  client = new Client(system.urls.gateway!);
  events = await OrderEvents.listen(system);
  admin = await client.adminToken();
  productId = (await client.createProduct(admin, { priceCents: 1250, name: 'Teapot', stock: 1000 })).id;
});

afterAll(async () => {
  await events?.close();
  await system?.dispose();
  await sink?.stop();
});

interface NotificationView {
  id: string;
  template: string;
  status: string;
  attempts: number;
  sentAt: string | null;
  order: { id: string; status: string } | null;
}

const MY_NOTIFICATIONS = `{ me { notifications(first: 50) { totalCount edges { node {
  id template status attempts sentAt order { id status }
} } } } }`;

async function myNotifications(token: string): Promise<NotificationView[]> {
  const data = await client.data<{ me: { notifications: { edges: { node: NotificationView }[] } } }>(
    MY_NOTIFICATIONS,
    {},
    token,
  );
  return data.me.notifications.edges.map((e) => e.node);
}

/** Polls the customer's records until `count` of them are settled (none PENDING). */
async function settledNotifications(token: string, count: number): Promise<NotificationView[]> {
  const deadline = Date.now() + 60_000;
  for (;;) {
    const records = await myNotifications(token);
    if (records.length === count && records.every((r) => r.status !== 'PENDING')) return records;
    if (Date.now() > deadline) throw new Error(`records never settled: ${JSON.stringify(records)}`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

async function placed(token: string, card = 'pm_card_visa'): Promise<string> {
  const response = await client.placeOrder(token, [{ productId, quantity: 2 }], card);
  expect(response.errors).toBeUndefined();
  return response.data!.placeOrder.id;
}

async function fulfil(orderId: string, step: 'shipOrder' | 'deliverOrder'): Promise<void> {
  await client.data(`mutation($id: ID!) { ${step}(id: $id) { status } }`, { id: orderId }, admin);
}

/**
 * A customer's three orders: one confirmed, one declined, one shipped and then delivered. Returns
 * the templates expected per order.
 */
async function threeOrders(token: string): Promise<Map<string, string[]>> {
  const confirmed = await placed(token);
  const declined = await placed(token, 'pm_card_chargeDeclined');
  const delivered = await placed(token);
  expect((await events.until(confirmed)).status).toBe('CONFIRMED');
  expect((await events.until(declined)).status).toBe('CANCELLED');
  expect((await events.until(delivered)).status).toBe('CONFIRMED');
  await fulfil(delivered, 'shipOrder');
  await fulfil(delivered, 'deliverOrder');
  return new Map([
    [confirmed, ['ORDER_CONFIRMED']],
    [declined, ['ORDER_CANCELLED']],
    [delivered, ['ORDER_CONFIRMED', 'ORDER_SHIPPED', 'ORDER_DELIVERED']],
  ]);
}

/** The records match the expected templates per order, every one SENT. */
function expectRecords(records: NotificationView[], expected: Map<string, string[]>): void {
  const byOrder = new Map<string, string[]>();
  for (const r of records) byOrder.set(r.order!.id, [...(byOrder.get(r.order!.id) ?? []), r.template]);
  for (const [orderId, templates] of expected) {
    expect({ orderId, templates: (byOrder.get(orderId) ?? []).sort() }).toEqual({
      orderId,
      templates: [...templates].sort(),
    });
  }
  expect(records.every((r) => r.status === 'SENT' && r.sentAt !== null)).toBe(true);
}

describe('order emails end to end', () => {
  it('sends exactly the expected emails, each once, one Message-ID per notification', async () => {
    const customer = await client.registerCustomer('Nora');
    const expected = await threeOrders(customer.token);

    await sink.until((s) => s.to(customer.email).length >= 5, 'five emails');
    const records = await settledNotifications(customer.token, 5);
    expectRecords(records, expected);
    expect(records.every((r) => r.attempts === 1)).toBe(true);
    // Delivered once each: as many emails as records, each under its own record's Message-ID.
    const received = sink.to(customer.email).map((m) => m.messageId);
    expect(received.sort()).toEqual(records.map((r) => messageId(r.id)).sort());
  });

  it('still sends each one when notifications is SIGKILLed mid-run and the server refuses the first attempts', async () => {
    const customer = await client.registerCustomer('Otto');
    sink.refuseNext(3);
    const attemptsBefore = sink.attempts;
    const expected = await threeOrders(customer.token);
    // Killed once it has begun sending (a refused attempt), restarted on the same port.
    await sink.until((s) => s.attempts > attemptsBefore, 'a first attempt');
    await system.kill('notifications', 'SIGKILL');
    await system.restart('notifications');

    const records = await settledNotifications(customer.token, 5);
    expectRecords(records, expected);
    await sink.until(
      (s) => new Set(s.to(customer.email).map((m) => m.messageId)).size === 5,
      'five distinct emails',
    );
    // A message sent just before the kill may come again, but only under its own Message-ID.
    const distinct = new Set(sink.to(customer.email).map((m) => m.messageId));
    expect([...distinct].sort()).toEqual(records.map((r) => messageId(r.id)).sort());
  });
});

describe('preferences and privacy', () => {
  it('records an opted-out customer’s notification as SKIPPED and sends nothing', async () => {
    const customer = await client.registerCustomer('Pia');
    const set = await client.data<{ setNotificationPreferences: { id: string; email: string } }>(
      'mutation { setNotificationPreferences(input: { email: false }) { id email } }',
      {},
      customer.token,
    );
    expect(set.setNotificationPreferences).toEqual({ id: customer.id, email: customer.email });

    const orderId = await placed(customer.token);
    expect((await events.until(orderId)).status).toBe('CONFIRMED');
    const [record] = await settledNotifications(customer.token, 1);
    expect(record).toMatchObject({ template: 'ORDER_CONFIRMED', status: 'SKIPPED', order: { id: orderId } });
    expect(sink.to(customer.email)).toEqual([]);
  });

  it('lets no other customer read them, through the gateway or through _entities', async () => {
    const owner = await client.registerCustomer('Quinn');
    const other = await client.registerCustomer('Rex');
    const orderId = await placed(owner.token);
    expect((await events.until(orderId)).status).toBe('CONFIRMED');
    await settledNotifications(owner.token, 1);

    const viaGateway = await client.request(
      'query($id: ID!) { user(id: $id) { id notifications { totalCount } } }',
      { id: owner.id },
      other.token,
    );
    expect(viaGateway.data?.user ?? null).toBeNull();
    expect(viaGateway.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');

    const entities = `query($r: [_Any!]!) { _entities(representations: $r) {
      ... on User { notifications { totalCount edges { node { id } } } } } }`;
    const representations = { r: [{ __typename: 'User', id: owner.id }] };
    const direct = await directRequest(system, 'notifications', entities, representations, {
      asService: 'gateway',
      token: other.token,
    });
    expect(direct.body.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
    expect(JSON.stringify(direct.body.data ?? null)).not.toContain('edges');
    const own = await directRequest<{ _entities: { notifications: { totalCount: number } }[] }>(
      system,
      'notifications',
      entities,
      representations,
      { asService: 'gateway', token: owner.token },
    );
    expect(own.body.data?._entities[0]?.notifications.totalCount).toBe(1);
  });
});

describe('low-stock alerts end to end', () => {
  it('write to the administrator once when an order takes a product below the threshold', async () => {
    const product = await client.createProduct(admin, { priceCents: 900, name: 'Rare Tea', stock: 6 });
    const customer = await client.registerCustomer('Sam');
    const alerts = () =>
      sink
        .to(TEST_ADMIN_EMAIL)
        .filter(
          (m) => m.headers.get('x-notification-template') === 'LOW_STOCK' && m.subject?.includes('Rare Tea'),
        );
    for (const quantity of [2, 1]) {
      const response = await client.placeOrder(customer.token, [{ productId: product.id, quantity }]);
      expect((await events.until(response.data!.placeOrder.id)).status).toBe('CONFIRMED');
    }
    // 6 -> 4 crossed the threshold (5); 4 -> 3 stayed below it: one alert.
    await sink.until(() => alerts().length >= 1, 'a low-stock alert');
    const records = await client.data<{ me: { notifications: { edges: { node: { template: string } }[] } } }>(
      '{ me { notifications(first: 100) { edges { node { template } } } } }',
      {},
      admin,
    );
    expect(records.me.notifications.edges.filter((e) => e.node.template === 'LOW_STOCK').length).toBe(
      alerts().length,
    );
    expect(alerts()).toHaveLength(1);
    expect(alerts()[0]!.subject).toBe('Low stock: Rare Tea (4 left)');
  });
});
