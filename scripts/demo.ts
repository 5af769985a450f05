// `npm run demo`: a client of a running system, as short as a client can be. It signs in as the
// demo customer, places an order and prints each status the moment it arrives over graphql-ws,
// with fields that three subgraphs contribute (the order, product names, payment status); then
// it pays with the test card that is always declined and shows the saga undo the reservation.
// Exits 0 when both went as they should.
//
//   npm run demo                                         against http://localhost:4000/graphql
//   GATEWAY_URL=http://host:4000/graphql npm run demo    against another gateway

import { createClient } from 'graphql-ws';
import { DEMO_CUSTOMER } from '../shared/demo.ts';
import { graphql } from './lib/graphql-client.ts';

const url = process.env.GATEWAY_URL ?? 'http://localhost:4000/graphql';

interface Product {
  id: string;
  name: string;
  stock: { available: number; reserved: number } | null;
}
interface Order {
  status: string;
  statusSequence: number;
  failureReason: string | null;
  payment: { status: string } | null;
  items: { quantity: number; product: { name: string } | null }[];
}

const ORDER_FIELDS =
  'status statusSequence failureReason payment { status } items { quantity product { name } } ';

async function main(): Promise<boolean> {
  const { login } = await graphql<{ login: { token: string } }>(
    url,
    'mutation SignIn($email: String!, $password: String!) { login(email: $email, password: $password) { token } }',
    { email: DEMO_CUSTOMER.email, password: DEMO_CUSTOMER.password },
  );
  const token = login.token;
  console.log(`Signed in as ${DEMO_CUSTOMER.email} at ${url}`);

  const [first, second] = await coffeeInStock(token);
  if (!first || !second) {
    console.error('Found no demo products in stock: start the system with `npm start` (demo data on).');
    return false;
  }

  // Subscriptions share the URL, over WebSocket; the token goes in the connection parameters.
  const live = createClient({
    url: url.replace(/^http/, 'ws'),
    connectionParams: { authorization: `Bearer ${token}` },
  });
  try {
    console.log('\nOrder 1, paid with pm_card_visa:');
    const confirmed = await placeAndWatch(live, token, 'pm_card_visa', [
      { productId: first.id, quantity: 2 },
      { productId: second.id, quantity: 1 },
    ]);

    console.log('\nOrder 2, paid with pm_card_chargeDeclined (the test card that is always declined):');
    const before = await stockOf(token, first.id);
    const declined = await placeAndWatch(live, token, 'pm_card_chargeDeclined', [
      { productId: first.id, quantity: 1 },
    ]);
    const released = await reservationReleased(token, first.id, before);
    console.log(
      released
        ? `  compensation: the reservation was released: ${first.name}, ${before.available} available and ${before.reserved} reserved, as before the order`
        : `  compensation: the reservation of ${first.name} was not released in time`,
    );
    return (
      confirmed.status === 'CONFIRMED' &&
      declined.status === 'CANCELLED' &&
      declined.failureReason === 'PAYMENT_DECLINED' &&
      released
    );
  } finally {
    await live.dispose();
  }
}

async function coffeeInStock(token: string): Promise<Product[]> {
  const { products } = await graphql<{ products: { edges: { node: Product }[] } }>(
    url,
    'query Coffee { products(filter: { category: "coffee" }, first: 10) { edges { node { id name stock { available reserved } } } } }',
    {},
    token,
  );
  return products.edges.map((e) => e.node).filter((p) => (p.stock?.available ?? 0) >= 3);
}

/** Places the order, prints it, then prints each later status as it arrives; returns the last. */
async function placeAndWatch(
  live: ReturnType<typeof createClient>,
  token: string,
  paymentMethod: string,
  items: { productId: string; quantity: number }[],
): Promise<Order> {
  const { placeOrder } = await graphql<{ placeOrder: Order & { id: string } }>(
    url,
    `mutation Place($input: PlaceOrderInput!) { placeOrder(input: $input) { id ${ORDER_FIELDS} } }`,
    { input: { items, paymentMethod } },
    token,
  );
  print(placeOrder);
  let last: Order = placeOrder;
  // afterSequence: every change after the one placeOrder returned, each as the order was then,
  // however fast the saga ran; the stream completes at CANCELLED (or DELIVERED).
  const changes = live.iterate<{ orderStatusChanged: Order }>({
    query: `subscription Watch($id: ID!, $after: Int) { orderStatusChanged(orderId: $id, afterSequence: $after) { ${ORDER_FIELDS} } }`,
    variables: { id: placeOrder.id, after: placeOrder.statusSequence },
  });
  for await (const { data, errors } of changes) {
    if (errors?.length) throw new Error(errors.map((e) => e.message).join('; '));
    last = data!.orderStatusChanged;
    print(last);
    // A confirmed order waits for an administrator to ship it: this demo stops watching here.
    if (last.status === 'CONFIRMED') break;
  }
  return last;
}

function print(order: Order): void {
  const items = order.items.map((i) => `${i.quantity} × ${i.product?.name ?? '?'}`).join(', ');
  const status = [order.status, order.failureReason].filter(Boolean).join(' ');
  // Fields of other subgraphs (payment, products) are read as each event is sent, not as they
  // were at that step: the payment's status is shown once the order has settled.
  const settled = order.status === 'CONFIRMED' || order.status === 'CANCELLED';
  const payment = settled ? `   payment ${order.payment?.status ?? 'none'}` : '';
  console.log(`  ${status.padEnd(28)} ${items}${payment}`);
}

type Stock = NonNullable<Product['stock']>;

async function stockOf(token: string, productId: string): Promise<Stock> {
  const { product } = await graphql<{ product: Product }>(
    url,
    'query Stock($id: ID!) { product(id: $id) { id name stock { available reserved } } }',
    { id: productId },
    token,
  );
  return product.stock ?? { available: 0, reserved: 0 };
}

/** Whether the product's stock is back to `before` within a few seconds. */
async function reservationReleased(token: string, productId: string, before: Stock): Promise<boolean> {
  // The saga cancels the order and asks inventory to release in one step; inventory does it a
  // moment later, and stock has no subscription: ask a few times.
  for (let attempt = 0; attempt < 50; attempt++) {
    const now = await stockOf(token, productId);
    if (now.available === before.available && now.reserved === before.reserved) return true;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  return false;
}

try {
  const ok = await main();
  console.log(
    ok ? '\nDone: one order confirmed, one declined and compensated.' : '\nThe demo did not go as expected.',
  );
  process.exitCode = ok ? 0 : 1;
} catch (error) {
  console.error(`demo failed: ${error instanceof Error ? error.message : String(error)}`);
  process.exitCode = 1;
}
