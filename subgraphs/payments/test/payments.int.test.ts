// The payments subgraph against real PostgreSQL (and NATS for its connection): the saga
// handlers' transitions with their outbox rows, batched entity resolution, and permissions
// with real tokens from an in-process users subgraph.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { randomBytes, randomUUID } from 'node:crypto';
import { readSubgraphConfig } from '../../../shared/config.ts';
import { createLogger } from '../../../shared/logger.ts';
import { openDatabase, type MikroORM } from '../../../shared/db/database.ts';
import type { RunningService } from '../../../shared/service/subgraph-service.ts';
import type { PayloadOf } from '../../../shared/contracts/index.ts';
import { PermanentFailure } from '../../../shared/messaging/consumer.ts';
import { startUsers } from '../../users/src/server.ts';
import { dropTestResources, graphqlRequest, type TestResources } from '../../../test/support/system.ts';
import { entities, startPayments } from '../src/server.ts';
import { migrations } from '../src/migrations/index.ts';
import { createPaymentHandlers, type PaymentCommandSubject } from '../src/messaging/handlers.ts';
import { lockPayments } from '../src/domain/payments.ts';
import { SimulatedPaymentProvider, TEST_CARDS } from '../src/domain/provider/simulated-provider.ts';
import { isTransientProviderError } from '../src/domain/provider/payment-provider.ts';
import { connect } from '@nats-io/transport-node';
import { jetstream } from '@nats-io/jetstream';
import { qualify } from '../../../shared/messaging/topology.ts';

const id = `t_${randomBytes(6).toString('hex')}`;
const resources: TestResources = {
  databaseUrl: process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres',
  natsUrl: process.env.NATS_URL ?? 'nats://127.0.0.1:4222',
  databasePrefix: id,
  natsNamespace: id,
};
const env = {
  NODE_ENV: 'test',
  HOST: '127.0.0.1',
  PORT: '0',
  DATABASE_URL: resources.databaseUrl,
  DATABASE_PREFIX: id,
  NATS_URL: resources.natsUrl,
  NATS_NAMESPACE: id,
};
const logger = createLogger('test', process.env.LOG_LEVEL ?? 'silent');
const ADMIN = { email: 'admin@example.com', password: 'admin-password' };

let users: RunningService | undefined;
let payments: RunningService | undefined;
let orm: MikroORM | undefined;
const provider = new SimulatedPaymentProvider();
const handlers = createPaymentHandlers({ provider });

interface Account {
  readonly id: string;
  readonly token: string;
}
let alice: Account;
let bob: Account;
let admin: Account;

beforeAll(async () => {
  users = await startUsers(
    {
      ...readSubgraphConfig('users', 0, env),
      adminEmail: ADMIN.email,
      adminPassword: ADMIN.password,
      tokenTtlSeconds: 900,
    },
    logger,
  );
  const jwksUrl = new URL('/.well-known/jwks.json', users.url).toString();
  payments = await startPayments(
    { ...readSubgraphConfig('payments', 0, { ...env, USERS_JWKS_URL: jwksUrl }), flakyFailures: 2 },
    logger,
    { messaging: false },
  );
  // The test's own connection to the payments database, to drive the handlers as the consumer does.
  orm = await openDatabase({
    serverUrl: resources.databaseUrl,
    databaseName: `${id}_payments`,
    entities,
    migrations,
    logger,
    pipelined: true,
  });
  alice = await register('alice');
  bob = await register('bob');
  admin = await signIn(ADMIN.email, ADMIN.password);
});

afterAll(async () => {
  try {
    await Promise.allSettled([payments?.stop(), users?.stop(), orm?.close()]);
  } finally {
    await dropTestResources(resources);
  }
});

// --- helpers ---

async function register(name: string): Promise<Account> {
  const result = await graphqlRequest<{ register: { token: string; user: { id: string } } }>(
    users!.url,
    'mutation($input: RegisterInput!) { register(input: $input) { token user { id } } }',
    { input: { email: `${name}-${randomUUID()}@example.com`, password: 'correct horse battery', name } },
  );
  if (!result.data) throw new Error(JSON.stringify(result.errors));
  return { id: result.data.register.user.id, token: result.data.register.token };
}

async function signIn(email: string, password: string): Promise<Account> {
  const result = await graphqlRequest<{ login: { token: string; user: { id: string } } }>(
    users!.url,
    'mutation($e: String!, $p: String!) { login(email: $e, password: $p) { token user { id } } }',
    { e: email, p: password },
  );
  if (!result.data) throw new Error(JSON.stringify(result.errors));
  return { id: result.data.login.user.id, token: result.data.login.token };
}

/** Runs a handler the way the consumer does: inside one transaction (the inbox transaction). */
function handle<S extends PaymentCommandSubject>(subject: S, payload: PayloadOf<S>): Promise<void> {
  const handler = handlers[subject] as (em: unknown, payload: PayloadOf<S>) => Promise<void>;
  return orm!.em.fork().transactional((em) => handler(em, payload));
}

function authorize(orderId: string, customerId: string, paymentMethod: string, amountCents = 2500) {
  return handle('payments.cmd.authorize', {
    v: 1,
    orderId,
    customerId,
    paymentMethod,
    amountCents,
    currency: 'USD',
  });
}

async function sql<T>(query: string, params: unknown[] = []): Promise<T[]> {
  return orm!.em.fork().getConnection().execute<T[]>(query, params);
}

interface PaymentRow {
  id: string;
  status: string;
  decline_reason: string | null;
  customer_id: string | null;
  amount_cents: number;
  currency: string;
  provider_reference: string | null;
}

async function paymentOf(orderId: string): Promise<PaymentRow | undefined> {
  const rows = await sql<PaymentRow>('select * from payments where order_id = ?', [orderId]);
  return rows[0];
}

async function eventsOf(orderId: string) {
  return sql<{ kind: string; amount_cents: number; currency: string; reason: string | null }>(
    `select e.kind, e.amount_cents, e.currency, e.reason from payment_events e
       join payments p on p.id = e.payment_id where p.order_id = ? order by e.id`,
    [orderId],
  );
}

async function repliesFor(orderId: string) {
  return sql<{ subject: string; payload: Record<string, unknown> }>(
    `select subject, payload from outbox where payload->>'orderId' = ? order by seq`,
    [orderId],
  );
}

const callsFor = (orderId: string) =>
  provider.calls.filter((c) => c.idempotencyKey.startsWith(orderId)).map((c) => c.operation);

async function sqlQueriesSoFar(): Promise<number> {
  const text = await (await fetch(new URL('/metrics', payments!.url))).text();
  const line = text
    .split('\n')
    .find((l) => l.startsWith('sql_queries_total') && l.includes('source="request"'));
  if (!line) throw new Error('no sql_queries_total in /metrics');
  return Number(line.split(' ').at(-1));
}

const ORDER_PAYMENT = /* GraphQL */ `
  query ($representations: [_Any!]!) {
    _entities(representations: $representations) {
      ... on Order {
        id
        payment {
          id
          status
          declineReason
          amount {
            amountCents
            currency
          }
          order {
            id
          }
        }
      }
    }
  }
`;

interface OrderPaymentData {
  _entities: ({
    id: string;
    payment: {
      id: string;
      status: string;
      declineReason: string | null;
      amount: { amountCents: number; currency: string };
      order: { id: string };
    } | null;
  } | null)[];
}

const orderPayments = (orderIds: string[], token?: string) =>
  graphqlRequest<OrderPaymentData>(
    payments!.url,
    ORDER_PAYMENT,
    { representations: orderIds.map((orderId) => ({ __typename: 'Order', id: orderId })) },
    token,
  );

// --- the saga handlers ---

describe('payment commands', () => {
  it('approves pm_card_visa: AUTHORIZED, recorded with its amount, authorized reply in the outbox', async () => {
    const orderId = randomUUID();
    await authorize(orderId, alice.id, TEST_CARDS.visa, 4321);

    const payment = await paymentOf(orderId);
    expect(payment).toMatchObject({
      status: 'AUTHORIZED',
      customer_id: alice.id,
      amount_cents: 4321,
      currency: 'USD',
      decline_reason: null,
    });
    expect(payment!.provider_reference).toBeTruthy();
    expect(await eventsOf(orderId)).toEqual([
      { kind: 'AUTHORIZED', amount_cents: 4321, currency: 'USD', reason: null },
    ]);
    expect(await repliesFor(orderId)).toEqual([
      { subject: 'payments.evt.authorized', payload: { v: 1, orderId, paymentId: payment!.id } },
    ]);
  });

  it('declines pm_card_chargeDeclined with PAYMENT_DECLINED and unknown methods with their own reason', async () => {
    const declined = randomUUID();
    await authorize(declined, alice.id, TEST_CARDS.declined);
    const payment = await paymentOf(declined);
    expect(payment).toMatchObject({ status: 'DECLINED', decline_reason: 'PAYMENT_DECLINED' });
    expect(payment!.provider_reference).toBeNull();
    expect(await eventsOf(declined)).toEqual([
      { kind: 'DECLINED', amount_cents: 2500, currency: 'USD', reason: 'PAYMENT_DECLINED' },
    ]);
    expect(await repliesFor(declined)).toEqual([
      {
        subject: 'payments.evt.declined',
        payload: { v: 1, orderId: declined, paymentId: payment!.id, reason: 'PAYMENT_DECLINED' },
      },
    ]);

    const unknown = randomUUID();
    await authorize(unknown, alice.id, 'pm_card_doesNotExist');
    expect(await paymentOf(unknown)).toMatchObject({
      status: 'DECLINED',
      decline_reason: 'UNKNOWN_PAYMENT_METHOD',
    });
  });

  it('retries pm_card_flaky like the consumer does: failures leave nothing behind, then it approves', async () => {
    const orderId = randomUUID();
    const outcomes: string[] = [];
    for (let delivery = 1; delivery <= 5; delivery++) {
      try {
        await authorize(orderId, alice.id, TEST_CARDS.flaky);
        outcomes.push('ok');
        break;
      } catch (err) {
        expect(isTransientProviderError(err)).toBe(true);
        outcomes.push('retry');
        // The transaction rolled back: no payment, no event, no reply.
        expect(await paymentOf(orderId)).toBeUndefined();
        expect(await repliesFor(orderId)).toEqual([]);
      }
    }
    expect(outcomes).toEqual(['retry', 'retry', 'ok']);
    expect(await paymentOf(orderId)).toMatchObject({ status: 'AUTHORIZED' });
    expect((await repliesFor(orderId)).map((r) => r.subject)).toEqual(['payments.evt.authorized']);
    expect(callsFor(orderId)).toEqual(['authorize', 'authorize', 'authorize']);
  });

  it('lets pm_card_unavailable fail transiently every time', async () => {
    const orderId = randomUUID();
    for (let i = 0; i < 3; i++) {
      const error = await authorize(orderId, alice.id, TEST_CARDS.unavailable).catch((e: unknown) => e);
      expect(isTransientProviderError(error)).toBe(true);
    }
    expect(await paymentOf(orderId)).toBeUndefined();
  });

  it('answers a repeated authorize with the recorded outcome without calling the provider again', async () => {
    const approved = randomUUID();
    await authorize(approved, alice.id, TEST_CARDS.visa);
    await authorize(approved, alice.id, TEST_CARDS.visa);
    const declined = randomUUID();
    await authorize(declined, alice.id, TEST_CARDS.declined);
    await authorize(declined, alice.id, TEST_CARDS.visa); // another card does not change the outcome

    expect(callsFor(approved)).toEqual(['authorize']);
    expect(callsFor(declined)).toEqual(['authorize']);
    expect((await repliesFor(approved)).map((r) => r.subject)).toEqual([
      'payments.evt.authorized',
      'payments.evt.authorized',
    ]);
    expect((await repliesFor(declined)).map((r) => r.payload.reason)).toEqual([
      'PAYMENT_DECLINED',
      'PAYMENT_DECLINED',
    ]);
    expect(await eventsOf(approved)).toHaveLength(1);
    expect(await eventsOf(declined)).toHaveLength(1);
  });

  it('authorizes once when the same command races in many transactions', async () => {
    const orderId = randomUUID();
    const results = await Promise.allSettled(
      Array.from({ length: 8 }, () => authorize(orderId, alice.id, TEST_CARDS.visa)),
    );
    expect(results.filter((r) => r.status === 'rejected')).toEqual([]);
    expect(callsFor(orderId)).toEqual(['authorize']);
    expect(await sql('select id from payments where order_id = ?', [orderId])).toHaveLength(1);
    expect(await eventsOf(orderId)).toHaveLength(1);
    const replies = await repliesFor(orderId);
    expect(replies).toHaveLength(8);
    expect(new Set(replies.map((r) => r.payload.paymentId)).size).toBe(1);
  });

  it('captures, then refunds, each once and with its amount; repeats are no-ops', async () => {
    const orderId = randomUUID();
    await authorize(orderId, alice.id, TEST_CARDS.visa, 1999);
    await handle('payments.cmd.capture', { v: 1, orderId });
    await handle('payments.cmd.capture', { v: 1, orderId });
    expect(await paymentOf(orderId)).toMatchObject({ status: 'CAPTURED' });

    await handle('payments.cmd.refund', { v: 1, orderId });
    await handle('payments.cmd.refund', { v: 1, orderId });
    await handle('payments.cmd.capture', { v: 1, orderId }); // captured before: answered, not taken again
    expect(await paymentOf(orderId)).toMatchObject({ status: 'REFUNDED' });

    expect(await eventsOf(orderId)).toEqual([
      { kind: 'AUTHORIZED', amount_cents: 1999, currency: 'USD', reason: null },
      { kind: 'CAPTURED', amount_cents: 1999, currency: 'USD', reason: null },
      { kind: 'REFUNDED', amount_cents: 1999, currency: 'USD', reason: null },
    ]);
    expect(callsFor(orderId)).toEqual(['authorize', 'capture', 'refund']);
    expect((await repliesFor(orderId)).map((r) => r.subject)).toEqual([
      'payments.evt.authorized',
      'payments.evt.captured',
      'payments.evt.captured',
      'payments.evt.refunded',
      'payments.evt.refunded',
      'payments.evt.captured',
    ]);
  });

  it('handles a batch in one transaction: one lock statement, and a later command finds a payment made earlier', async () => {
    const [first, second] = [randomUUID(), randomUUID()];
    await authorize(second, bob.id, TEST_CARDS.visa, 700);
    await orm!.em.fork().transactional(async (em) => {
      // As the consumer does for a batch: every order's lock and payment first, then each command.
      await lockPayments(em, [second, first, second]);
      const run = <S extends PaymentCommandSubject>(subject: S, payload: PayloadOf<S>) =>
        (handlers[subject] as (em: unknown, payload: PayloadOf<S>) => Promise<void>)(em, payload);
      await run('payments.cmd.authorize', {
        v: 1,
        orderId: first,
        customerId: alice.id,
        paymentMethod: TEST_CARDS.visa,
        amountCents: 1200,
        currency: 'USD',
      });
      await run('payments.cmd.capture', { v: 1, orderId: first });
      await run('payments.cmd.capture', { v: 1, orderId: second });
    });
    expect(await paymentOf(first)).toMatchObject({ status: 'CAPTURED', amount_cents: 1200 });
    expect(await paymentOf(second)).toMatchObject({ status: 'CAPTURED', amount_cents: 700 });
    expect(await eventsOf(first)).toEqual([
      { kind: 'AUTHORIZED', amount_cents: 1200, currency: 'USD', reason: null },
      { kind: 'CAPTURED', amount_cents: 1200, currency: 'USD', reason: null },
    ]);
    expect(callsFor(first)).toEqual(['authorize', 'capture']);
  });

  it('voids an authorization; nothing can be captured or refunded after it', async () => {
    const orderId = randomUUID();
    await authorize(orderId, alice.id, TEST_CARDS.visa, 700);
    await handle('payments.cmd.void', { v: 1, orderId });
    await handle('payments.cmd.void', { v: 1, orderId });
    expect(await paymentOf(orderId)).toMatchObject({ status: 'VOIDED' });

    // A capture overtaken by the void is skipped without a reply; a refund is refused outright.
    await handle('payments.cmd.capture', { v: 1, orderId });
    await expect(handle('payments.cmd.refund', { v: 1, orderId })).rejects.toThrow(PermanentFailure);
    expect(await paymentOf(orderId)).toMatchObject({ status: 'VOIDED' });
    expect((await eventsOf(orderId)).map((e) => [e.kind, e.amount_cents])).toEqual([
      ['AUTHORIZED', 700],
      ['VOIDED', 700],
    ]);
    expect(callsFor(orderId)).toEqual(['authorize', 'void']);
    expect((await repliesFor(orderId)).map((r) => r.subject)).toEqual([
      'payments.evt.authorized',
      'payments.evt.voided',
      'payments.evt.voided',
    ]);
  });

  it('writes a VOIDED tombstone for a void before any authorize, and refuses the late authorize', async () => {
    const orderId = randomUUID();
    await handle('payments.cmd.void', { v: 1, orderId });
    expect(await paymentOf(orderId)).toMatchObject({
      status: 'VOIDED',
      customer_id: null,
      amount_cents: 0,
      provider_reference: null,
    });

    await authorize(orderId, alice.id, TEST_CARDS.visa, 5000);
    await authorize(orderId, alice.id, TEST_CARDS.visa, 5000);
    const payment = await paymentOf(orderId);
    // Still VOIDED; the refused attempt is recorded with who and how much.
    expect(payment).toMatchObject({
      status: 'VOIDED',
      decline_reason: 'VOIDED',
      customer_id: alice.id,
      amount_cents: 5000,
      provider_reference: null,
    });
    expect(callsFor(orderId)).toEqual([]);
    expect(await eventsOf(orderId)).toEqual([
      { kind: 'VOIDED', amount_cents: 0, currency: 'XXX', reason: null },
      { kind: 'DECLINED', amount_cents: 5000, currency: 'USD', reason: 'VOIDED' },
    ]);
    expect(await repliesFor(orderId)).toEqual([
      { subject: 'payments.evt.voided', payload: { v: 1, orderId } },
      {
        subject: 'payments.evt.declined',
        payload: { v: 1, orderId, paymentId: payment!.id, reason: 'VOIDED' },
      },
      {
        subject: 'payments.evt.declined',
        payload: { v: 1, orderId, paymentId: payment!.id, reason: 'VOIDED' },
      },
    ]);
    // A capture overtaken by the cancellation's void changes nothing and is not answered.
    await handle('payments.cmd.capture', { v: 1, orderId });
    expect(await paymentOf(orderId)).toMatchObject({ status: 'VOIDED' });
    expect(await repliesFor(orderId)).toHaveLength(3);
  });

  it('answers a void of a declined payment (nothing is held) and refuses illegal transitions', async () => {
    const declined = randomUUID();
    await authorize(declined, alice.id, TEST_CARDS.declined);
    await handle('payments.cmd.void', { v: 1, orderId: declined });
    expect(await paymentOf(declined)).toMatchObject({ status: 'DECLINED' });
    expect((await repliesFor(declined)).map((r) => r.subject)).toEqual([
      'payments.evt.declined',
      'payments.evt.voided',
    ]);
    await expect(handle('payments.cmd.capture', { v: 1, orderId: declined })).rejects.toThrow(
      PermanentFailure,
    );

    const unknown = randomUUID();
    await expect(handle('payments.cmd.capture', { v: 1, orderId: unknown })).rejects.toThrow(
      PermanentFailure,
    );
    await expect(handle('payments.cmd.refund', { v: 1, orderId: unknown })).rejects.toThrow(PermanentFailure);

    const authorized = randomUUID();
    await authorize(authorized, alice.id, TEST_CARDS.visa);
    await expect(handle('payments.cmd.refund', { v: 1, orderId: authorized })).rejects.toThrow(
      /Cannot refund .* it is AUTHORIZED/,
    );
    const captured = randomUUID();
    await authorize(captured, alice.id, TEST_CARDS.visa);
    await handle('payments.cmd.capture', { v: 1, orderId: captured });
    // A void overtaken by the capture is not answered: orders asks for a refund when it sees
    // the capture.
    await handle('payments.cmd.void', { v: 1, orderId: captured });
    expect(await paymentOf(captured)).toMatchObject({ status: 'CAPTURED' });
    expect((await repliesFor(captured)).map((r) => r.subject)).toEqual([
      'payments.evt.authorized',
      'payments.evt.captured',
    ]);
  });

  it('refuses to run outside a transaction', async () => {
    const em = orm!.em.fork();
    await expect(handlers['payments.cmd.void'](em, { v: 1, orderId: randomUUID() })).rejects.toThrow(
      /inside a transaction/,
    );
  });
});

// --- GraphQL ---

describe('Order.payment and Payment over GraphQL', () => {
  const aliceOrders = [randomUUID(), randomUUID(), randomUUID()];
  const bobOrder = randomUUID();
  const noPayment = randomUUID();

  beforeAll(async () => {
    await authorize(aliceOrders[0]!, alice.id, TEST_CARDS.visa, 1000);
    await authorize(aliceOrders[1]!, alice.id, TEST_CARDS.declined, 2000);
    await authorize(aliceOrders[2]!, alice.id, TEST_CARDS.visa, 3000);
    await handle('payments.cmd.capture', { v: 1, orderId: aliceOrders[2]! });
    await authorize(bobOrder, bob.id, TEST_CARDS.visa, 4000);
  });

  it('resolves the payments of many orders with one SQL query', async () => {
    const orderIds = [...aliceOrders, bobOrder, noPayment, 'not-a-uuid'];
    const before = await sqlQueriesSoFar();
    const result = await orderPayments(orderIds, admin.token);
    const after = await sqlQueriesSoFar();

    expect(result.errors).toBeUndefined();
    expect(after - before).toBe(1);
    const entities = result.data!._entities;
    expect(entities.map((o) => o?.payment?.status ?? null)).toEqual([
      'AUTHORIZED',
      'DECLINED',
      'CAPTURED',
      'AUTHORIZED',
      null,
      null,
    ]);
    expect(entities[1]!.payment).toMatchObject({
      declineReason: 'PAYMENT_DECLINED',
      amount: { amountCents: 2000, currency: 'USD' },
      order: { id: aliceOrders[1] },
    });
  });

  it('batches the event history too: one query for the payments, one for their events', async () => {
    const before = await sqlQueriesSoFar();
    const result = await graphqlRequest<{
      _entities: { payment: { events: { kind: string; amount: { amountCents: number } }[] } }[];
    }>(
      payments!.url,
      `query ($r: [_Any!]!) { _entities(representations: $r) {
         ... on Order { payment { events { kind amount { amountCents } at } } } } }`,
      { r: aliceOrders.map((orderId) => ({ __typename: 'Order', id: orderId })) },
      alice.token,
    );
    const after = await sqlQueriesSoFar();
    expect(result.errors).toBeUndefined();
    expect(after - before).toBe(2);
    expect(result.data!._entities[2]!.payment.events.map((e) => [e.kind, e.amount.amountCents])).toEqual([
      ['AUTHORIZED', 3000],
      ['CAPTURED', 3000],
    ]);
  });

  it("shows a customer their own payments and refuses another customer's with FORBIDDEN", async () => {
    const result = await orderPayments([aliceOrders[0]!, bobOrder, noPayment], alice.token);
    const entities = result.data!._entities;
    expect(entities[0]!.payment).toMatchObject({ status: 'AUTHORIZED', amount: { amountCents: 1000 } });
    expect(entities[1]).toEqual({ id: bobOrder, payment: null });
    expect(entities[2]).toEqual({ id: noPayment, payment: null });
    expect(result.errors).toHaveLength(1);
    expect(result.errors![0]).toMatchObject({
      path: ['_entities', 1, 'payment'],
      extensions: { code: 'FORBIDDEN' },
    });

    const forBob = await orderPayments([bobOrder, aliceOrders[0]!], bob.token);
    expect(forBob.data!._entities.map((o) => o?.payment?.status ?? null)).toEqual(['AUTHORIZED', null]);
    expect(forBob.errors?.map((e) => e.extensions?.code)).toEqual(['FORBIDDEN']);
  });

  it("does not reveal even nullable fields of another customer's payment", async () => {
    const result = await orderPayments([bobOrder], alice.token);
    expect(result.data!._entities[0]!.payment).toBeNull();
    const byId = await graphqlRequest<{ payment: unknown }>(
      payments!.url,
      'query($id: ID!) { payment(id: $id) { declineReason } }',
      { id: await paymentOf(bobOrder).then((p) => p!.id) },
      alice.token,
    );
    expect(byId.data?.payment ?? null).toBeNull();
    expect(byId.errors?.map((e) => e.extensions?.code)).toEqual(['FORBIDDEN']);
  });

  it('resolves Payment entities and Query.payment for the customer and administrators', async () => {
    const paymentId = (await paymentOf(aliceOrders[2]!))!.id;
    for (const account of [alice, admin]) {
      const result = await graphqlRequest<{
        _entities: { id: string; status: string; order: { id: string } }[];
        payment: { id: string; amount: { amountCents: number } };
      }>(
        payments!.url,
        `query ($r: [_Any!]!, $id: ID!) {
           _entities(representations: $r) { ... on Payment { id status order { id } } }
           payment(id: $id) { id amount { amountCents } }
         }`,
        { r: [{ __typename: 'Payment', id: paymentId }], id: paymentId },
        account.token,
      );
      expect(result.errors).toBeUndefined();
      expect(result.data!._entities[0]).toEqual({
        id: paymentId,
        status: 'CAPTURED',
        order: { id: aliceOrders[2] },
      });
      expect(result.data!.payment).toEqual({ id: paymentId, amount: { amountCents: 3000 } });
    }
    const asBob = await graphqlRequest(
      payments!.url,
      'query ($r: [_Any!]!) { _entities(representations: $r) { ... on Payment { id } } }',
      { r: [{ __typename: 'Payment', id: paymentId }] },
      bob.token,
    );
    expect(asBob.errors?.map((e) => e.extensions?.code)).toEqual(['FORBIDDEN']);
  });

  it('shows no payment for an order cancelled before it paid, to its customer and administrators alike', async () => {
    // The order's customer placed it, but the cancellation's void arrived before any authorize.
    const cancelledEarly = randomUUID();
    await handle('payments.cmd.void', { v: 1, orderId: cancelledEarly });
    for (const token of [admin.token, bob.token]) {
      const result = await orderPayments([bobOrder, cancelledEarly], token);
      expect(result.errors).toBeUndefined();
      expect(result.data!._entities.map((o) => o?.payment?.status ?? null)).toEqual(['AUTHORIZED', null]);
    }
  });

  it('refuses anonymous callers with UNAUTHENTICATED and forged tokens outright', async () => {
    const anonymous = await orderPayments([aliceOrders[0]!]);
    expect(anonymous.data?._entities ?? null).toBeNull();
    expect(anonymous.errors?.map((e) => e.extensions?.code)).toEqual(['UNAUTHENTICATED']);

    const byId = await graphqlRequest(payments!.url, 'query($id: ID!) { payment(id: $id) { id } }', {
      id: randomUUID(),
    });
    expect(byId.errors?.map((e) => e.extensions?.code)).toEqual(['UNAUTHENTICATED']);

    const [header, payload] = alice.token.split('.');
    const forged = `${header}.${payload}.${Buffer.from('not a signature').toString('base64url')}`;
    const withForged = await orderPayments([aliceOrders[0]!], forged);
    expect(withForged.errors?.map((e) => e.extensions?.code)).toEqual(['UNAUTHENTICATED']);
  });

  it('serves its SDL to the gateway without a token', async () => {
    const result = await graphqlRequest<{ _service: { sdl: string } }>(payments!.url, '{ _service { sdl } }');
    expect(result.data!._service.sdl).toContain('type Payment @key(fields: "id")');
  });
});

// --- over NATS: the consumer and the outbox relay wired in startPayments ---

describe('payments over JetStream', () => {
  it('handles commands from the stream and publishes the replies, retrying a flaky provider', async () => {
    const viaNats = new SimulatedPaymentProvider();
    const config = readSubgraphConfig('payments', 0, {
      ...env,
      USERS_JWKS_URL: new URL('/.well-known/jwks.json', users!.url).toString(),
    });
    const instance = await startPayments({ ...config, flakyFailures: 2 }, logger, { provider: viaNats });
    const nc = await connect({ servers: resources.natsUrl });
    try {
      const orderId = randomUUID();
      // Replies for this order, in arrival order; `nextReply` waits for the next one. The relay
      // publishes at least once (JetStream drops a repeated Nats-Msg-Id; a plain subscriber
      // like this one sees it), so repeats of one message id are counted once.
      const received: { subject: string; payload: Record<string, unknown> }[] = [];
      const seen = new Set<string>();
      nc.subscribe(qualify(id, 'payments.evt.>'), {
        callback: (_err, msg) => {
          const payload = msg.json<Record<string, unknown>>();
          const messageId = msg.headers?.get('Nats-Msg-Id') ?? '';
          if (payload.orderId !== orderId || seen.has(messageId)) return;
          seen.add(messageId);
          received.push({ subject: msg.subject, payload });
        },
      });
      let taken = 0;
      const nextReply = async (timeoutMs = 15_000) => {
        const deadline = Date.now() + timeoutMs;
        while (received.length <= taken) {
          if (Date.now() > deadline) throw new Error(`no reply within ${timeoutMs} ms`);
          await new Promise((resolve) => setTimeout(resolve, 20));
        }
        return received[taken++]!;
      };
      const js = jetstream(nc);
      const command: PayloadOf<'payments.cmd.authorize'> = {
        v: 1,
        orderId,
        customerId: alice.id,
        paymentMethod: TEST_CARDS.flaky,
        amountCents: 1234,
        currency: 'USD',
      };
      const messageId = randomUUID();
      await js.publish(qualify(id, 'payments.cmd.authorize'), JSON.stringify(command), { msgID: messageId });
      // The same message again: JetStream drops it (and the inbox would too).
      const again = await js.publish(qualify(id, 'payments.cmd.authorize'), JSON.stringify(command), {
        msgID: messageId,
      });
      expect(again.duplicate).toBe(true);

      const authorized = await nextReply();
      expect(authorized.subject).toBe(qualify(id, 'payments.evt.authorized'));
      expect(viaNats.calls.map((c) => c.operation)).toEqual(['authorize', 'authorize', 'authorize']);

      await js.publish(qualify(id, 'payments.cmd.capture'), JSON.stringify({ v: 1, orderId }));
      const captured = await nextReply();
      expect(captured).toEqual({ subject: qualify(id, 'payments.evt.captured'), payload: { v: 1, orderId } });
      expect(await paymentOf(orderId)).toMatchObject({ status: 'CAPTURED', amount_cents: 1234 });
    } finally {
      await nc.close();
      await instance.stop();
    }
  });
});
