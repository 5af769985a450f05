// For integration tests of one subgraph in-process: a users subgraph of their own (real tokens
// and JWKS), configuration on free ports with a database prefix of their own, optionally a
// SERVICE_SECRET with calls made as the gateway makes them, the SQL query counter, and clean-up
// of the databases.
//
//   const env = testEnvironment();
//   const users = await startTestUsers(env);
//   try { ... } finally { await users.stop(); await dropTestResources(env.resources); }

import { randomBytes } from 'node:crypto';
import { createServiceHeaders, generateServiceSecret } from '../../shared/auth/service-identity.ts';
import { readSubgraphConfig, type SubgraphConfig } from '../../shared/config.ts';
import { createLogger, type Logger } from '../../shared/logger.ts';
import type { RunningService } from '../../shared/service/subgraph-service.ts';
import { startUsers } from '../../subgraphs/users/src/server.ts';
import { DEFAULT_DATABASE_URL, DEFAULT_NATS_URL } from '../../scripts/lib/services.ts';
import { graphqlRequest, type GraphQLResponse, type TestResources } from './system.ts';

export const TEST_ADMIN_EMAIL = 'admin@example.com';
export const TEST_ADMIN_PASSWORD = 'admin-password';

export interface TestEnvironment {
  /** `t_<random>`: the DATABASE_PREFIX of this test file. */
  readonly id: string;
  readonly resources: TestResources;
  readonly logger: Logger;
  /** A subgraph's configuration: port 0, this prefix, tokens verified against `jwksUrl`. */
  config(service: string, jwksUrl?: string): SubgraphConfig;
  /** The headers the gateway sends `service`: its service token, or none without a secret. */
  gatewayHeaders(service: string): Promise<Record<string, string>>;
}

export interface TestEnvironmentOptions {
  /**
   * Give every subgraph one SERVICE_SECRET, as production does: then a subgraph answers only
   * callers with a service token (`callAsGateway`), and subgraphs calling each other sign theirs.
   */
  readonly serviceSecret?: boolean;
}

export function testEnvironment(options: TestEnvironmentOptions = {}): TestEnvironment {
  const id = `t_${randomBytes(6).toString('hex')}`;
  const databaseUrl = process.env.DATABASE_URL ?? DEFAULT_DATABASE_URL;
  const natsUrl = process.env.NATS_URL ?? DEFAULT_NATS_URL;
  const serviceSecret = options.serviceSecret ? generateServiceSecret() : undefined;
  const gatewayHeaders = createServiceHeaders(serviceSecret, 'gateway');
  return {
    id,
    resources: { databaseUrl, natsUrl, databasePrefix: id, natsNamespace: id },
    logger: createLogger('test', process.env.LOG_LEVEL ?? 'silent'),
    gatewayHeaders,
    config: (service, jwksUrl) =>
      readSubgraphConfig(service, 0, {
        NODE_ENV: 'test',
        HOST: '127.0.0.1',
        PORT: '0',
        DATABASE_URL: databaseUrl,
        DATABASE_PREFIX: id,
        NATS_URL: natsUrl,
        NATS_NAMESPACE: id,
        ...(jwksUrl ? { USERS_JWKS_URL: jwksUrl } : {}),
        ...(serviceSecret ? { SERVICE_SECRET: serviceSecret } : {}),
      }),
  };
}

/** Sends one operation to a subgraph. */
export type SubgraphCall = <TData = Record<string, unknown>>(
  query: string,
  variables?: Record<string, unknown>,
  userToken?: string,
) => Promise<GraphQLResponse<TData>>;

/** Calls the subgraph `service` at `url` as the gateway does: its service token, the user's bearer token. */
export function callAsGateway(env: TestEnvironment, service: string, url: string): SubgraphCall {
  return async (query, variables, userToken) =>
    graphqlRequest(url, query, variables, userToken, await env.gatewayHeaders(service));
}

/** The extensions of a response's first error (failing the test when there is none). */
export function firstErrorExtensions(result: GraphQLResponse<unknown>): Record<string, unknown> {
  const [first] = result.errors ?? [];
  if (!first) throw new Error(`expected an error, got ${JSON.stringify(result)}`);
  return first.extensions ?? {};
}

export interface TestAccount {
  readonly id: string;
  readonly email: string;
  readonly token: string;
}

export const TEST_CUSTOMER_PASSWORD = 'customer-password';

export interface TestUsers {
  readonly service: RunningService;
  readonly jwksUrl: string;
  readonly adminToken: string;
  /** The administrator's user id. */
  readonly adminId: string;
  /** Registers a new customer and returns its token. */
  customerToken(): Promise<string>;
  /** Registers a new customer and returns its id, email and token. */
  customer(): Promise<TestAccount>;
  stop(): Promise<void>;
}

export async function startTestUsers(env: TestEnvironment): Promise<TestUsers> {
  const service = await startUsers(
    {
      ...env.config('users'),
      adminEmail: TEST_ADMIN_EMAIL,
      adminPassword: TEST_ADMIN_PASSWORD,
      tokenTtlSeconds: 900,
    },
    env.logger,
  );
  const call = callAsGateway(env, 'users', service.url);
  try {
    const login = await call<{ login: { token: string; user: { id: string } } }>(
      'mutation($e: String!, $p: String!) { login(email: $e, password: $p) { token user { id } } }',
      { e: TEST_ADMIN_EMAIL, p: TEST_ADMIN_PASSWORD },
    );
    if (!login.data) throw new Error(`admin login failed: ${JSON.stringify(login.errors)}`);
    const customer = async (): Promise<TestAccount> => {
      const email = `customer-${randomBytes(6).toString('hex')}@example.com`;
      const registered = await call<{ register: { token: string; user: { id: string } } }>(
        'mutation($i: RegisterInput!) { register(input: $i) { token user { id } } }',
        { i: { email, password: TEST_CUSTOMER_PASSWORD, name: 'Customer' } },
      );
      if (!registered.data) throw new Error(`register failed: ${JSON.stringify(registered.errors)}`);
      return { id: registered.data.register.user.id, email, token: registered.data.register.token };
    };
    return {
      service,
      jwksUrl: new URL('/.well-known/jwks.json', service.url).toString(),
      adminToken: login.data.login.token,
      adminId: login.data.login.user.id,
      customer,
      customerToken: async () => (await customer()).token,
      stop: () => service.stop(),
    };
  } catch (err) {
    await service.stop();
    throw err;
  }
}

/** The `sql_queries_total` counter of a running subgraph (read from its /metrics). */
export async function sqlQueryCount(service: RunningService): Promise<number> {
  const response = await fetch(new URL('/metrics', service.url));
  const text = await response.text();
  const line = text
    .split('\n')
    .find((l) => l.startsWith('sql_queries_total') && l.includes('source="request"'));
  if (!line) throw new Error('sql_queries_total is missing from /metrics');
  return Number(line.slice(line.lastIndexOf(' ') + 1));
}
