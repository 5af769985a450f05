// Demo data for development: the demo customer and the demo catalogue (scripts/lib/demo-catalogue.ts),
// created as an administrator through the gateway's public API, the same mutations a shop's
// back office would call. So every subgraph records them its own way and every event follows
// (products publishes its product events, which give orders its catalogue copy) with no
// seeding path of its own to keep in step with the services.
//
// Idempotent: a SKU that exists already (CONFLICT) is left as it is, stock included, and so is an
// existing customer; a second run creates nothing. (A run stopped between creating a product and
// setting its stock leaves that product without stock; `setStock` fills it in.)

import { DEMO_CUSTOMER } from '../../shared/demo.ts';
import { readBoolean } from '../../shared/config.ts';
import { DEMO_PRODUCTS, DEMO_WAREHOUSES, type DemoProduct } from './demo-catalogue.ts';
import { graphql, GraphQLRequestError } from './graphql-client.ts';

export interface DemoSeedOptions {
  /** The gateway's GraphQL URL. */
  readonly gatewayUrl: string;
  /** An administrator's credentials (ADMIN_EMAIL / ADMIN_PASSWORD). */
  readonly admin: { readonly email: string; readonly password: string };
}

export interface DemoSeedResult {
  readonly productsCreated: number;
  readonly productsTotal: number;
  readonly customerCreated: boolean;
}

/** Whether `npm start` seeds: never in production; in development unless SEED_DEMO=false. */
export function demoSeedingWanted(env: Record<string, string | undefined>): boolean {
  if (env.NODE_ENV === 'production') return false;
  return readBoolean(env, 'SEED_DEMO', true);
}

export async function seedDemoData({ gatewayUrl, admin }: DemoSeedOptions): Promise<DemoSeedResult> {
  const login = await graphql<{ login: { token: string } }>(
    gatewayUrl,
    'mutation SeedSignIn($email: String!, $password: String!) { login(email: $email, password: $password) { token } }',
    admin,
  );
  const adminToken = login.login.token;
  const customerCreated = await unlessConflict(() =>
    graphql(
      gatewayUrl,
      'mutation SeedCustomer($input: RegisterInput!) { register(input: $input) { user { id } } }',
      { input: DEMO_CUSTOMER },
    ),
  );
  let productsCreated = 0;
  // One product after another: a few dozen requests, well inside the gateway's rate limit.
  for (const product of DEMO_PRODUCTS) {
    if (await seedProduct(gatewayUrl, adminToken, product)) productsCreated++;
  }
  return { productsCreated, productsTotal: DEMO_PRODUCTS.length, customerCreated: customerCreated !== null };
}

/** Creates the product and its stock; false when its SKU exists already. */
async function seedProduct(gatewayUrl: string, adminToken: string, product: DemoProduct): Promise<boolean> {
  const { stock, ...input } = product;
  const created = await unlessConflict(() =>
    graphql<{ createProduct: { id: string } }>(
      gatewayUrl,
      'mutation SeedProduct($input: ProductInput!) { createProduct(input: $input) { id } }',
      { input },
      adminToken,
    ),
  );
  if (!created) return false;
  for (const warehouse of DEMO_WAREHOUSES) {
    await graphql(
      gatewayUrl,
      'mutation SeedStock($id: ID!, $warehouse: String!, $available: Int!) { setStock(productId: $id, warehouse: $warehouse, available: $available) { available } }',
      { id: created.createProduct.id, warehouse, available: stock[warehouse] },
      adminToken,
    );
  }
  return true;
}

/** The result, or null when the only error is CONFLICT (it exists already). */
async function unlessConflict<T>(create: () => Promise<T>): Promise<T | null> {
  try {
    return await create();
  } catch (error) {
    const conflict = error instanceof GraphQLRequestError && error.codes.length > 0;
    if (conflict && error.codes.every((code) => code === 'CONFLICT')) return null;
    throw error;
  }
}
