// Forgets handled message ids once no redelivery can still bring them back: JetStream keeps
// messages for at most 30 days (topology.ts), so ids older than that only take space.
import { backgroundFork, type MikroORM } from '../db/database.ts';
import type { Logger } from '../logger.ts';
import type { Worker } from '../service/subgraph-service.ts';

const KEEP_DAYS = 31;
const EVERY_MS = 60 * 60 * 1000;

/** Deletes inbox rows older than the longest a message can be redelivered; returns how many. */
export async function forgetHandledMessages(orm: MikroORM): Promise<number> {
  const result = await backgroundFork(orm).execute<{ affectedRows: number }>(
    `delete from inbox where handled_at < now() - make_interval(days => ?)`,
    [KEEP_DAYS],
    'run',
  );
  return result.affectedRows;
}

export function createInboxJanitor(orm: MikroORM, logger: Logger): Worker {
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<void> | undefined;
  const sweep = () => {
    running = forgetHandledMessages(orm)
      .then(() => undefined)
      .catch((err: unknown) => logger.warn({ err }, 'inbox clean-up failed; will retry'));
  };
  return {
    name: 'inbox-janitor',
    start() {
      timer = setInterval(sweep, EVERY_MS);
      timer.unref();
    },
    async stop() {
      clearInterval(timer);
      await running;
    },
  };
}
