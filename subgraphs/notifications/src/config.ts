// The notifications subgraph's configuration: the common subgraph settings and where mail goes.
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  ConfigError,
  readInt,
  readString,
  readSubgraphConfig,
  readUrl,
  type SubgraphConfig,
} from '../../../shared/config.ts';
import { DEFAULT_RETRY_POLICY, type RetryPolicy } from './delivery/retry.ts';

type Env = Record<string, string | undefined>;

const REPO_ROOT = fileURLToPath(new URL('../../../', import.meta.url));
/** Where emails are written when SMTP_URL is not set (git-ignored, as all of .data/). */
export const DEFAULT_MAIL_DIR = path.join(REPO_ROOT, '.data', 'mail');

export interface NotificationsConfig extends SubgraphConfig {
  /** An SMTP server (smtp:// or smtps://); none: `.eml` files in mailDir. */
  readonly smtpUrl: string | undefined;
  readonly mailDir: string;
  readonly mailFrom: string;
  readonly retry: RetryPolicy;
  /** How long an order status event waits for others to share its transaction (pull-loop.ts). */
  readonly batchWaitMs: number;
}

export function readNotificationsConfig(env: Env = process.env): NotificationsConfig {
  const smtpUrl = env.SMTP_URL?.trim() ? readUrl(env, 'SMTP_URL', '', ['smtp:', 'smtps:']) : undefined;
  // Files nobody reads are no delivery: production sends through SMTP unless told to write files.
  if (!smtpUrl && env.NODE_ENV === 'production' && !env.MAIL_DIR?.trim()) {
    throw new ConfigError(
      'SMTP_URL is required in production (without it emails are only written as files; set MAIL_DIR to want that)',
    );
  }
  return {
    ...readSubgraphConfig('notifications', 4006, env),
    smtpUrl,
    mailDir: path.resolve(REPO_ROOT, readString(env, 'MAIL_DIR', DEFAULT_MAIL_DIR)),
    mailFrom: readString(env, 'MAIL_FROM', 'Order Supergraph <orders@example.com>'),
    batchWaitMs: readInt(env, 'NOTIFICATIONS_BATCH_WAIT_MS', 100, 0, 1000),
    retry: {
      baseDelayMs: readInt(env, 'MAIL_RETRY_BASE_MS', DEFAULT_RETRY_POLICY.baseDelayMs, 10, 3_600_000),
      maxDelayMs: DEFAULT_RETRY_POLICY.maxDelayMs,
      maxAttempts: readInt(env, 'MAIL_MAX_ATTEMPTS', DEFAULT_RETRY_POLICY.maxAttempts, 1, 100),
    },
  };
}
