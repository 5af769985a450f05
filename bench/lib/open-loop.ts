// Orders at a fixed arrival rate, the load of bench:saga and bench:notifications: a phase
// `rate:seconds` places order n at n / rate seconds after its start, whatever the earlier ones
// are doing (open loop), so a slow system meets a queue as a real shop would, not a pause.
import { performance } from 'node:perf_hooks';
import type { Client } from '../../e2e/support/client.ts';
import { createProducts, registerCustomers, sleep } from './system.ts';

export interface Phase {
  readonly rate: number;
  readonly seconds: number;
}

export function parsePhase(arg: string): Phase {
  const match = /^(\d+):(\d+)$/.exec(arg);
  if (!match) throw new Error(`a phase is rate:seconds, e.g. 50:20; got "${arg}"`);
  return { rate: Number(match[1]), seconds: Number(match[2]) };
}

/** The phases named on the command line, or `defaults` when none is. */
export function parsePhases(args: readonly string[], defaults: readonly string[]): Phase[] {
  return (args.length > 0 ? args : defaults).map(parsePhase);
}

/** Who orders what: order n is one unit of the n-th product by the n-th customer, round robin. */
export interface Shop {
  readonly client: Client;
  /** Customers' tokens. */
  readonly customers: readonly string[];
  /** Product ids. */
  readonly products: readonly string[];
}

/** `products` products with stock that no phase runs out of, and `customers` registered customers. */
export async function openShop(client: Client, products: number, customers: number): Promise<Shop> {
  const admin = await client.adminToken();
  return {
    client,
    products: await createProducts(client, admin, products, 1_000_000),
    customers: await registerCustomers(client, customers),
  };
}

export type PlaceOrderResponse = ReturnType<Client['placeOrder']>;

export interface OpenLoopRun {
  readonly total: number;
  /** performance.now() when the phase began and when its last order was sent. */
  readonly begin: number;
  readonly sentAt: number;
}

/**
 * Places `rate × seconds` orders open-loop, handing each request's response (still pending) and
 * the moment it was sent to `follow`; resolves once every `follow` has.
 */
export async function placeOrdersOpenLoop(
  phase: Phase,
  shop: Shop,
  follow: (response: PlaceOrderResponse, start: number) => Promise<void>,
): Promise<OpenLoopRun> {
  const { client, customers, products } = shop;
  const total = Math.round(phase.rate * phase.seconds);
  const begin = performance.now();
  const requests: Promise<void>[] = [];
  for (let n = 0; n < total; n++) {
    const wait = begin + (n * 1000) / phase.rate - performance.now();
    if (wait > 1) await sleep(wait);
    const start = performance.now();
    requests.push(
      follow(
        client.placeOrder(customers[n % customers.length]!, [
          { productId: products[n % products.length]!, quantity: 1 },
        ]),
        start,
      ),
    );
  }
  const sentAt = performance.now();
  await Promise.all(requests);
  return { total, begin, sentAt };
}
