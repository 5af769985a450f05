// The users subgraph's token signing keys, for operators:
//   npm run keys -- list [--json]                        every key: id, status, when it signs, when it retires
//   npm run keys -- rotate [--activate-in <s>] [--json]  add a key that signs <s> seconds from now
//                                                        (default 30) and delete the retired ones
// Running users instances pick the new key up without a restart; old keys keep verifying until
// their tokens have expired (JWT_TTL_SECONDS, as the users subgraph is configured). Which system:
// DATABASE_URL and DATABASE_PREFIX, as for the subgraphs.
import { parseArgs } from 'node:util';
import { readDatabaseConfig, readInt } from '../shared/config.ts';
import { createLogger } from '../shared/logger.ts';
import { openDatabase } from '../shared/db/database.ts';
import { User } from '../subgraphs/users/src/domain/user.entity.ts';
import { SigningKey } from '../subgraphs/users/src/domain/signing-key.entity.ts';
import { migrations } from '../subgraphs/users/src/migrations/index.ts';
import {
  DEFAULT_ACTIVATION_SECONDS,
  keySchedule,
  loadSigningKeys,
  rotateSigningKey,
} from '../subgraphs/users/src/domain/signing-keys.ts';

const USAGE = 'usage: npm run keys -- list [--json] | rotate [--activate-in <seconds>] [--json]';

async function main(args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: { json: { type: 'boolean', default: false }, 'activate-in': { type: 'string' } },
  });
  const [command] = positionals;
  const activateIn = Number(values['activate-in'] ?? DEFAULT_ACTIVATION_SECONDS);
  if ((command !== 'list' && command !== 'rotate') || !Number.isInteger(activateIn) || activateIn < 0) {
    console.error(USAGE);
    return 2;
  }
  const ttlSeconds = readInt(process.env, 'JWT_TTL_SECONDS', 900, 30, 86_400);
  const { databaseUrl, databaseName } = readDatabaseConfig('users');
  const orm = await openDatabase({
    serverUrl: databaseUrl,
    databaseName,
    entities: [User, SigningKey],
    migrations,
    logger: createLogger('keys', 'silent'),
    poolSize: 1,
  });
  try {
    const em = () => orm.em.fork();
    if (command === 'rotate') {
      const rotation = await rotateSigningKey(em(), { activateInSeconds: activateIn, ttlSeconds });
      console.log(
        values.json
          ? JSON.stringify(rotation)
          : `new key ${rotation.kid} signs from ${rotation.activatesAt.toISOString()}` +
              (rotation.deleted.length ? `; deleted retired keys ${rotation.deleted.join(', ')}` : ''),
      );
      return 0;
    }
    const list = keySchedule(await loadSigningKeys(em()), new Date(), ttlSeconds).map((s) => ({
      kid: s.key.kid,
      status: s.status,
      createdAt: s.key.createdAt.toISOString(),
      activatesAt: s.key.activatesAt.toISOString(),
      retiresAt: s.retiresAt?.toISOString(),
    }));
    if (values.json) console.log(JSON.stringify(list, null, 2));
    else {
      for (const k of list) {
        console.log(
          `${k.kid}  ${k.status.padEnd(9)}  signs from ${k.activatesAt}${k.retiresAt ? `  retires ${k.retiresAt}` : ''}`,
        );
      }
    }
    return 0;
  } finally {
    await orm.close();
  }
}

process.exitCode = await main(process.argv.slice(2));
