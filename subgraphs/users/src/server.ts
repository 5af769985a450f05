// Builds the users subgraph; never listens on import, so tests can start it on any port.
import type { SubgraphConfig } from '../../../shared/config.ts';
import type { Logger } from '../../../shared/logger.ts';
import { batchById, sharedLookups } from '../../../shared/graphql/batch.ts';
import { sendJson } from '../../../shared/http/server.ts';
import { startSubgraph } from '../../../shared/service/start-subgraph.ts';
import type { RunningService } from '../../../shared/service/subgraph-service.ts';
import { User } from './domain/user.entity.ts';
import { SigningKey } from './domain/signing-key.entity.ts';
import { keyRefreshWorker, loadTokenIssuer } from './domain/tokens.ts';
import { DEFAULT_KEY_REFRESH_SECONDS } from './domain/signing-keys.ts';
import { seedAdministrator } from './domain/user-service.ts';
import { findUserProfiles } from './domain/user-reads.store.ts';
import { migrations } from './migrations/index.ts';
import { resolvers } from './resolvers/index.ts';
import { permissions } from './permissions.ts';
import type { UsersContext } from './context.ts';

export interface UsersConfig extends SubgraphConfig {
  readonly adminEmail: string;
  readonly adminPassword: string;
  readonly tokenTtlSeconds: number;
  /** How often the signing keys are re-read, so a rotation needs no restart (default 10). */
  readonly keyRefreshSeconds?: number;
}

export function startUsers(config: UsersConfig, logger: Logger): Promise<RunningService> {
  return startSubgraph<UsersContext>({
    config,
    logger,
    schemaFile: new URL('./schema.graphql', import.meta.url),
    resolvers,
    permissions,
    entities: [User, SigningKey],
    // Its outbox relay publishes the user events (users.evt.user_changed); it consumes nothing.
    migrations,
    async setup({ orm }) {
      await seedAdministrator(orm.em.fork(), config.adminEmail, config.adminPassword);
      const tokens = await loadTokenIssuer(() => orm.em.fork(), config.tokenTtlSeconds);
      const usersById = sharedLookups(
        (ids) => findUserProfiles(orm.em, ids),
        (u) => u.id,
      );
      return {
        workers: [keyRefreshWorker(tokens, config.keyRefreshSeconds ?? DEFAULT_KEY_REFRESH_SECONDS, logger)],
        // It signs the tokens, so it verifies them with the keys in hand.
        verifyToken: tokens.verifier,
        routes: { '/.well-known/jwks.json': (_req, res) => sendJson(res, 200, tokens.jwks()) },
        // Every order's customer comes through here: concurrent requests share the statement,
        // run on the global EntityManager (a store statement needs no unit of work, so no fork).
        extendContext: () => ({
          tokens,
          session: {},
          users: batchById(usersById, (u) => u.id),
        }),
      };
    },
  });
}
