// Entry of the users subgraph: configuration and signals only.
import { readInt, readString, readSubgraphConfig, ConfigError } from '../../../shared/config.ts';
import { runService } from '../../../shared/process.ts';
import { startUsers, type UsersConfig } from './server.ts';

const DEV_ADMIN_EMAIL = 'admin@example.com';
const DEV_ADMIN_PASSWORD = 'admin-password';

await runService('users', (logger) => {
  const base = readSubgraphConfig('users', 4001);
  const config: UsersConfig = {
    ...base,
    adminEmail: readString(process.env, 'ADMIN_EMAIL', base.production ? undefined : DEV_ADMIN_EMAIL),
    adminPassword: readString(
      process.env,
      'ADMIN_PASSWORD',
      base.production ? undefined : DEV_ADMIN_PASSWORD,
    ),
    tokenTtlSeconds: readInt(process.env, 'JWT_TTL_SECONDS', 900, 30, 86_400),
    keyRefreshSeconds: readInt(process.env, 'SIGNING_KEY_REFRESH_SECONDS', 10, 1, 3600),
  };
  if (base.production && config.adminPassword === DEV_ADMIN_PASSWORD) {
    throw new ConfigError('ADMIN_PASSWORD must not be the development default in production');
  }
  if (!base.production && !process.env.ADMIN_PASSWORD) {
    logger.info(`development administrator: ${config.adminEmail} / ${config.adminPassword}`);
  }
  return startUsers(config, logger);
});
