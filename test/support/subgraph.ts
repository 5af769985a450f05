// For integration tests of one subgraph in-process: a users subgraph of their own (real tokens
// and JWKS), configuration on free ports with a database prefix of their own, the SQL query
// counter, and clean-up of the databases.
//
//   const env = testEnvironment();
//   const users = await startTestUsers(env);
//   try { ... } finally { await users.stop(); await dropTestResources(env.resources); }

import { randomBytes } from 'node:crypto';
import { readSubgraphConfig, type SubgraphConfig } from '../../shared/config.ts';
import { createLogger, type Logger } from '../../shared/logger.ts';
import type { RunningService } from '../../shared/graphql/subgraph-service.ts';
import { startUsers } from '../../subgraphs/users/src/server.ts';
import { DEFAULT_DATABASE_URL, DEFAULT_NATS_URL } from '../../scripts/lib/services.ts';
import { graphqlRequest, type TestResources } from './system.ts';

export const TEST_ADMIN_EMAIL = 'admin@example.com';
export const TEST_ADMIN_PASSWORD = 'admin-password';

export interface TestEnvironment {
  /** `t_<random>`: the DATABASE_PREFIX of this test file. */
  readonly id: string;
  readonly resources: TestResources;
  readonly logger: Logger;
  /** A subgraph's configuration: port 0, this prefix, tokens verified against `jwksUrl`. */
  config(service: string, jwksUrl?: string): SubgraphConfig;
}

export function testEnvironment(): TestEnvironment {
  const id = `t_${randomBytes(6).toString('hex')}`;
  const databaseUrl = process.env.DATABASE_URL ?? DEFAULT_DATABASE_URL;
  const natsUrl = process.env.NATS_URL ?? DEFAULT_NATS_URL;
  return {
    id,
    resources: { databaseUrl, natsUrl, databasePrefix: id, natsNamespace: id },
    logger: createLogger('test', process.env.LOG_LEVEL ?? 'silent'),
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
      }),
  };
}

export interface TestUsers {
  readonly service: RunningService;
  readonly jwksUrl: string;
  readonly adminToken: string;
  /** Registers a new customer and returns its token. */
  customerToken(): Promise<string>;
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
  try {
    const login = await graphqlRequest<{ login: { token: string } }>(
      service.url,
      'mutation($e: String!, $p: String!) { login(email: $e, password: $p) { token } }',
      { e: TEST_ADMIN_EMAIL, p: TEST_ADMIN_PASSWORD },
    );
    const adminToken = login.data?.login.token;
    if (!adminToken) throw new Error(`admin login failed: ${JSON.stringify(login.errors)}`);
    return {
      service,
      jwksUrl: new URL('/.well-known/jwks.json', service.url).toString(),
      adminToken,
      customerToken: async () => {
        const email = `customer-${randomBytes(6).toString('hex')}@example.com`;
        const registered = await graphqlRequest<{ register: { token: string } }>(
          service.url,
          'mutation($i: RegisterInput!) { register(input: $i) { token } }',
          { i: { email, password: 'customer-password', name: 'Customer' } },
        );
        const token = registered.data?.register.token;
        if (!token) throw new Error(`register failed: ${JSON.stringify(registered.errors)}`);
        return token;
      },
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
