// What must hold after any number of orders, whatever was killed or restarted on the way: read
// from each subgraph's own database (the public API would hide a double effect behind its
// sums). Used by the fault test and the instances test; every check names the first offender.
import { jetstreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import pg from 'pg';
import { databaseUrl } from '../shared/db/database.ts';
import { CONSUMERS, consumerName, streamName, type ConsumerName } from '../shared/messaging/topology.ts';
import { natsAdminOptions, type TestSystem } from '../test/support/system.ts';

/** One pg client per subgraph database of a test system. */
export class SystemDatabases {
  readonly orders: pg.Client;
  readonly inventory: pg.Client;
  readonly payments: pg.Client;
  private constructor(orders: pg.Client, inventory: pg.Client, payments: pg.Client) {
    this.orders = orders;
    this.inventory = inventory;
    this.payments = payments;
  }

  /** `servers`: the PostgreSQL server of a subgraph whose database is not on the system's. */
  static async open(
    system: Pick<TestSystem, 'id' | 'databaseUrl'>,
    servers: Partial<Record<'orders' | 'inventory' | 'payments', string>> = {},
  ): Promise<SystemDatabases> {
    const client = (name: 'orders' | 'inventory' | 'payments') =>
      new pg.Client({
        connectionString: databaseUrl(servers[name] ?? system.databaseUrl, `${system.id}_${name}`),
      });
    const dbs = new SystemDatabases(client('orders'), client('inventory'), client('payments'));
    await Promise.all([dbs.orders.connect(), dbs.inventory.connect(), dbs.payments.connect()]);
    return dbs;
  }

  async close(): Promise<void> {
    await Promise.allSettled([this.orders.end(), this.inventory.end(), this.payments.end()]);
  }

  /** Orders whose saga still runs. */
  async inFlight(statuses = ['PENDING', 'INVENTORY_RESERVED', 'PAYMENT_AUTHORIZED']): Promise<number> {
    const { rows } = await this.orders.query<{ n: string }>(
      'select count(*) as n from orders where status = any($1)',
      [statuses],
    );
    return Number(rows[0]!.n);
  }

  /** Rows still waiting in the three outboxes. */
  async outboxRows(): Promise<number> {
    const counts = await Promise.all(
      [this.orders, this.inventory, this.payments].map((db) =>
        db.query<{ n: string }>('select count(*) as n from outbox'),
      ),
    );
    return counts.reduce((sum, r) => sum + Number(r.rows[0]!.n), 0);
  }
}

/** Messages not yet delivered or not yet acknowledged, summed over every saga consumer. */
export async function unsettledMessages(
  system: Pick<TestSystem, 'id' | 'natsUrl' | 'natsCredentials'>,
): Promise<number> {
  const nc = await connect(natsAdminOptions(system));
  try {
    const jsm = await jetstreamManager(nc);
    let total = 0;
    for (const consumer of Object.keys(CONSUMERS) as ConsumerName[]) {
      const info = await jsm.consumers.info(
        streamName(system.id, CONSUMERS[consumer].stream),
        consumerName(system.id, consumer),
      );
      total += info.num_pending + info.num_ack_pending;
    }
    return total;
  } finally {
    await nc.close();
  }
}

/**
 * Waits until the saga is quiet: no order in flight, every outbox empty and every consumer
 * caught up, twice in a row (a reply may be between a consumer's commit and the next publish).
 */
export async function waitUntilQuiet(
  system: Pick<TestSystem, 'id' | 'natsUrl' | 'natsCredentials'>,
  dbs: SystemDatabases,
  timeoutMs: number,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let quietRounds = 0;
  for (;;) {
    const [inFlight, outbox, messages] = await Promise.all([
      dbs.inFlight(),
      dbs.outboxRows(),
      unsettledMessages(system).catch(() => -1),
    ]);
    const state = `${inFlight} orders in flight, ${outbox} outbox rows, ${messages} messages unsettled`;
    quietRounds = inFlight === 0 && outbox === 0 && messages === 0 ? quietRounds + 1 : 0;
    if (quietRounds >= 2) return;
    if (Date.now() > deadline) throw new Error(`the saga did not settle in ${timeoutMs} ms: ${state}`);
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

/** The lifecycle order of the statuses: a history must climb it, never repeat or go back. */
const RANK: Record<string, number> = {
  PENDING: 0,
  INVENTORY_RESERVED: 1,
  PAYMENT_AUTHORIZED: 2,
  CONFIRMED: 3,
  SHIPPED: 4,
  DELIVERED: 5,
  CANCELLED: 6,
};

/** Units of stock movement each final reservation status stands for: reserve, then release/commit, then restock. */
const MOVES: Record<string, number> = { RESERVED: 1, RELEASED: 2, COMMITTED: 2, RESTOCKED: 3 };

export interface InvariantReport {
  readonly orders: number;
  readonly byOutcome: Record<string, number>;
  readonly capturedCents: number;
  readonly refundedCents: number;
  readonly problems: string[];
}

/**
 * Checks every invariant of the saga on the databases of `system`. `initialStock` is what each
 * product was given (one warehouse each). Returns the problems found (empty when all hold).
 */
export async function checkInvariants(
  dbs: SystemDatabases,
  initialStock: ReadonlyMap<string, number>,
): Promise<InvariantReport> {
  const problems: string[] = [];
  const problem = (text: string) => {
    if (problems.length < 50) problems.push(text);
  };

  const orders = (
    await dbs.orders.query<{
      id: string;
      status: string;
      failure_reason: string | null;
      total_cents: number;
      status_sequence: number;
      stock_committed: boolean;
      payment_captured: boolean;
    }>(
      'select id, status, failure_reason, total_cents, status_sequence, stock_committed, payment_captured from orders',
    )
  ).rows;
  const history = new Map<string, { sequence: number; status: string }[]>();
  for (const row of (
    await dbs.orders.query<{ order_id: string; sequence: number; status: string }>(
      'select order_id, sequence, status from order_status_changes order by order_id, sequence',
    )
  ).rows) {
    const list = history.get(row.order_id) ?? [];
    list.push(row);
    history.set(row.order_id, list);
  }
  const items = (
    await dbs.orders.query<{ order_id: string; product_id: string; quantity: number }>(
      'select order_id, product_id, quantity from order_items',
    )
  ).rows;

  const byOutcome: Record<string, number> = {};
  const confirmed = new Set<string>();
  for (const order of orders) {
    const outcome = order.status === 'CANCELLED' ? `CANCELLED ${order.failure_reason}` : order.status;
    byOutcome[outcome] = (byOutcome[outcome] ?? 0) + 1;
    if (order.status === 'CONFIRMED') confirmed.add(order.id);
    else if (order.status !== 'CANCELLED') problem(`order ${order.id} ended ${order.status}`);

    // History: 1..n without gaps, PENDING first, each status later in the life cycle than the
    // one before (so none twice), the last one the order's status; a status event applied twice
    // would break one of these.
    const steps = history.get(order.id) ?? [];
    const statuses = steps.map((s) => s.status);
    if (steps.some((s, i) => s.sequence !== i + 1) || steps.length !== order.status_sequence)
      problem(
        `order ${order.id}: history sequences ${steps.map((s) => s.sequence)} / ${order.status_sequence}`,
      );
    if (statuses[0] !== 'PENDING' || statuses.at(-1) !== order.status)
      problem(`order ${order.id}: history ${statuses.join(' > ')} for status ${order.status}`);
    if (statuses.some((s, i) => i > 0 && RANK[s]! <= RANK[statuses[i - 1]!]!))
      problem(`order ${order.id}: history goes back or repeats: ${statuses.join(' > ')}`);
  }

  // Inventory: conservation, nothing held, sold = what confirmed orders bought, and each stock
  // row moved exactly as often as its reservations say (a commit or restock applied twice
  // shows as a version too high even when the counts happen to balance).
  const stock = (
    await dbs.inventory.query<{
      product_id: string;
      available: number;
      reserved: number;
      sold: number;
      version: number;
    }>('select product_id, available, reserved, sold, version from stock')
  ).rows;
  const soldToConfirmed = new Map<string, number>();
  for (const item of items) {
    if (confirmed.has(item.order_id))
      soldToConfirmed.set(item.product_id, (soldToConfirmed.get(item.product_id) ?? 0) + item.quantity);
  }
  const moves = new Map<string, number>();
  for (const row of (
    await dbs.inventory.query<{ product_id: string; status: string; lines: string }>(
      `select l.product_id, r.status, count(*) as lines from reservation_lines l
         join reservations r using (order_id) group by l.product_id, r.status`,
    )
  ).rows) {
    moves.set(
      row.product_id,
      (moves.get(row.product_id) ?? 0) + Number(row.lines) * (MOVES[row.status] ?? 0),
    );
  }
  for (const row of stock) {
    const initial = initialStock.get(row.product_id);
    if (initial === undefined) continue;
    if (row.available + row.reserved + row.sold !== initial)
      problem(
        `product ${row.product_id}: ${row.available} available + ${row.reserved} reserved + ${row.sold} sold != ${initial}`,
      );
    if (row.reserved !== 0) problem(`product ${row.product_id}: ${row.reserved} still reserved`);
    const expectedSold = soldToConfirmed.get(row.product_id) ?? 0;
    if (row.sold !== expectedSold)
      problem(`product ${row.product_id}: ${row.sold} sold, confirmed orders bought ${expectedSold}`);
    const expectedVersion = 1 + (moves.get(row.product_id) ?? 0);
    if (row.version !== expectedVersion)
      problem(
        `product ${row.product_id}: stock version ${row.version}, reservations account for ${expectedVersion}`,
      );
  }
  for (const productId of initialStock.keys()) {
    if (!stock.some((s) => s.product_id === productId)) problem(`product ${productId}: no stock row`);
  }
  const reservations = new Map(
    (
      await dbs.inventory.query<{ order_id: string; status: string }>(
        'select order_id, status from reservations',
      )
    ).rows.map((r) => [r.order_id, r.status]),
  );
  for (const order of orders) {
    const reservation = reservations.get(order.id);
    if (order.status === 'CONFIRMED' && reservation !== 'COMMITTED')
      problem(`order ${order.id} CONFIRMED, reservation ${reservation}`);
    if (order.status === 'CANCELLED' && (reservation === 'RESERVED' || reservation === 'COMMITTED'))
      problem(`order ${order.id} CANCELLED, reservation still ${reservation}`);
  }

  // Payments: money taken only for confirmed orders, exactly their totals; a cancelled order
  // holds nothing and keeps nothing; each operation recorded at most once per payment.
  const payments = new Map(
    (
      await dbs.payments.query<{ order_id: string; id: string; status: string; amount_cents: number }>(
        'select order_id, id, status, amount_cents from payments',
      )
    ).rows.map((p) => [p.order_id, p]),
  );
  const events = new Map<string, { kind: string; amount_cents: number }[]>();
  for (const row of (
    await dbs.payments.query<{ payment_id: string; kind: string; amount_cents: number }>(
      'select payment_id, kind, amount_cents from payment_events order by id',
    )
  ).rows) {
    const list = events.get(row.payment_id) ?? [];
    list.push(row);
    events.set(row.payment_id, list);
  }
  let capturedCents = 0;
  let refundedCents = 0;
  let confirmedCents = 0;
  for (const order of orders) {
    const payment = payments.get(order.id);
    const kinds = payment ? (events.get(payment.id) ?? []).map((e) => e.kind) : [];
    if (new Set(kinds).size !== kinds.length)
      problem(`order ${order.id}: payment events repeat: ${kinds.join(', ')}`);
    const captured = kinds.includes('CAPTURED');
    const refunded = kinds.includes('REFUNDED');
    if (payment?.status === 'CAPTURED') capturedCents += payment.amount_cents;
    for (const e of payment ? (events.get(payment.id) ?? []) : []) {
      if (e.kind === 'REFUNDED') refundedCents += e.amount_cents;
    }
    if (order.status === 'CONFIRMED') {
      confirmedCents += order.total_cents;
      if (payment?.status !== 'CAPTURED' || payment.amount_cents !== order.total_cents)
        problem(
          `order ${order.id} CONFIRMED for ${order.total_cents}, payment ${payment?.status} ${payment?.amount_cents}`,
        );
    } else {
      if (payment && (payment.status === 'AUTHORIZED' || payment.status === 'CAPTURED'))
        problem(`order ${order.id} CANCELLED, payment still ${payment.status}`);
      if (captured && !refunded) problem(`order ${order.id} CANCELLED, charged and not refunded`);
    }
    if (refunded && !captured) problem(`order ${order.id}: refunded without a capture`);
  }
  if (capturedCents !== confirmedCents)
    problem(`captured ${capturedCents} cents, confirmed orders total ${confirmedCents}`);
  for (const [orderId] of payments) {
    if (!orders.some((o) => o.id === orderId)) problem(`payment for unknown order ${orderId}`);
  }

  return { orders: orders.length, byOutcome, capturedCents, refundedCents, problems };
}

/** The dead letters of a test system: original subject and error of each. */
export async function deadLetters(
  system: Pick<TestSystem, 'id' | 'natsUrl' | 'natsCredentials'>,
): Promise<{ subject: string; error: string }[]> {
  const nc = await connect(natsAdminOptions(system));
  try {
    const jsm = await jetstreamManager(nc);
    const stream = streamName(system.id, 'DEAD_LETTERS');
    const info = await jsm.streams.info(stream);
    const letters: { subject: string; error: string }[] = [];
    for (let seq = info.state.first_seq; seq <= info.state.last_seq && info.state.messages > 0; seq++) {
      const msg = await jsm.streams.getMessage(stream, { seq }).catch(() => null);
      if (!msg) continue;
      letters.push({
        subject: msg.header?.get('Dlq-Original-Subject') ?? msg.subject,
        error: msg.header?.get('Dlq-Error') ?? '',
      });
    }
    return letters;
  } finally {
    await nc.close();
  }
}
