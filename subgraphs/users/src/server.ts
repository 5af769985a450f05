// Builds the users subgraph; never listens on import, so tests can start it on any port.
import { readFileSync } from 'node:fs';
import { parse } from 'graphql';
import { buildSubgraphSchema } from '@apollo/subgraph';
import type { SubgraphConfig } from '../../../shared/config.ts';
import type { Logger } from '../../../shared/logger.ts';
import { createMetrics } from '../../../shared/observability/metrics.ts';
import { openDatabase } from '../../../shared/db/database.ts';
import { connectNats } from '../../../shared/messaging/nats.ts';
import { applyPermissions } from '../../../shared/auth/shield.ts';
import { batchById } from '../../../shared/graphql/batch.ts';
import { sendJson } from '../../../shared/http/server.ts';
import { startSubgraphService, type RunningService } from '../../../shared/graphql/subgraph-service.ts';
import { User } from './domain/user.entity.ts';
import { SigningKey } from './domain/signing-key.entity.ts';
import { loadTokenIssuer } from './domain/tokens.ts';
import { findUsersByIds, seedAdministrator } from './domain/user-service.ts';
import { migrations } from './migrations/index.ts';
import { resolvers } from './resolvers/index.ts';
import { permissions } from './permissions.ts';
import type { UsersContext } from './context.ts';

export interface UsersConfig extends SubgraphConfig {
  readonly adminEmail: string;
  readonly adminPassword: string;
  readonly tokenTtlSeconds: number;
}

export const typeDefs = parse(readFileSync(new URL('./schema.graphql', import.meta.url), 'utf8'));

export async function startUsers(config: UsersConfig, logger: Logger): Promise<RunningService> {
  const metrics = createMetrics(config.service);
  const orm = await openDatabase({
    onQuery: (source) => metrics.sqlQueries.inc({ source }),
    serverUrl: config.databaseUrl,
    databaseName: config.databaseName,
    entities: [User, SigningKey],
    migrations,
    logger,
  });
  try {
    await seedAdministrator(orm.em.fork(), config.adminEmail, config.adminPassword);
    const tokens = await loadTokenIssuer(orm.em.fork(), config.tokenTtlSeconds);
    const nats = await connectNats(config.natsUrl, config.service, logger);
    const schema = applyPermissions(buildSubgraphSchema([{ typeDefs, resolvers }]), permissions);
    return await startSubgraphService<UsersContext>({
      config,
      logger,
      metrics,
      schema,
      orm,
      nats,
      verifyToken: tokens.verifier,
      extendContext: (base) => ({
        ...base,
        tokens,
        session: {},
        users: batchById(
          (ids) => findUsersByIds(base.em, ids),
          (u) => u.id,
        ),
      }),
      routes: { '/.well-known/jwks.json': (_req, res) => sendJson(res, 200, tokens.jwks()) },
    });
  } catch (err) {
    await orm.close(true);
    throw err;
  }
}
