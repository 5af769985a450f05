// The dead-letter stream for operators:
//   npm run dlq -- list [--json]      every dead letter: sequence, time, subject, consumer, deliveries, error, payload
//   npm run dlq -- replay <seq>       publish it again to its original subject and take it out of the stream
// NATS_URL (default nats://127.0.0.1:4222) and NATS_NAMESPACE (default none) say which system;
// NATS_USER / NATS_PASSWORD who to connect as: replaying publishes to any service's subject, which
// only the `admin` user may (nats/permissions.ts).
import { connect } from '@nats-io/transport-node';
import { readCommonConfig } from '../shared/config.ts';
import { DeadLetterNotFound, formatDeadLetters, listDeadLetters, replayDeadLetter } from './lib/dlq.ts';

const USAGE = 'usage: npm run dlq -- list [--json] | replay <seq>';

async function main(args: readonly string[]): Promise<number> {
  const [command, ...rest] = args;
  if (command !== 'list' && command !== 'replay') {
    console.error(USAGE);
    return 2;
  }
  const { natsServers, natsNamespace, natsCredentials } = readCommonConfig('dlq', 0);
  const nc = await connect({
    servers: [...natsServers],
    name: 'dlq',
    ...(natsCredentials ? { user: natsCredentials.user, pass: natsCredentials.password } : {}),
  });
  try {
    if (command === 'list') {
      const entries = await listDeadLetters(nc, natsNamespace);
      console.log(rest.includes('--json') ? JSON.stringify(entries, null, 2) : formatDeadLetters(entries));
      return 0;
    }
    const seq = Number(rest[0]);
    if (!Number.isSafeInteger(seq) || seq < 1) {
      console.error(USAGE);
      return 2;
    }
    const { entry, messageId, streamSeq } = await replayDeadLetter(nc, natsNamespace, seq);
    console.log(
      `replayed dead letter ${seq} to ${entry.subject} (message id ${messageId}, stream sequence ${streamSeq}); removed from the dead-letter stream`,
    );
    return 0;
  } catch (err) {
    if (err instanceof DeadLetterNotFound) {
      console.error(err.message);
      return 1;
    }
    throw err;
  } finally {
    await nc.close();
  }
}

process.exitCode = await main(process.argv.slice(2));
