// Who connects to NATS: every process as a user of its own, so that the server can hold each one
// to the subjects it owns (nats/permissions.ts), and `admin` for operators' tools (`npm run dlq`)
// and test clean-up. A process is given its user as NATS_USER / NATS_PASSWORD (shared/config.ts).
import { randomBytes } from 'node:crypto';

/** One user per process (the names of scripts/lib/services.ts PROCESSES; a test checks them). */
export const SERVICE_USERS = [
  'users',
  'products',
  'inventory',
  'orders',
  'payments',
  'notifications',
  'gateway',
] as const;
export type ServiceUser = (typeof SERVICE_USERS)[number];
export const ADMIN_USER = 'admin';
export type NatsUser = ServiceUser | typeof ADMIN_USER;
export const NATS_USERS: readonly NatsUser[] = [...SERVICE_USERS, ADMIN_USER];

export interface NatsCredential {
  readonly user: string;
  readonly password: string;
}
export type NatsCredentials = Readonly<Record<NatsUser, NatsCredential>>;

/**
 * The environment variable the server's configuration reads a user's password from, e.g.
 * NATS_PASSWORD_ORDERS. nats-server parses such a value as a configuration value, not as a
 * literal string: it must start with a letter and hold only letters, digits, "_" and "-"
 * (a number, `true` or a value with spaces would not read as a password).
 */
export function passwordVariable(user: NatsUser): string {
  return `NATS_PASSWORD_${user.toUpperCase()}`;
}

/** What a password the server reads from a variable must look like (see passwordVariable). */
export const SERVER_PASSWORD_PATTERN = /^[A-Za-z][A-Za-z0-9_-]{15,}$/;

/** A fresh random password: a letter, then 32 base64url characters (192 bits). */
export function generatePassword(): string {
  return `p${randomBytes(24).toString('base64url')}`;
}

/** Fresh random passwords for every user (what `npm start` does when it starts NATS itself). */
export function generateCredentials(): NatsCredentials {
  return Object.fromEntries(
    NATS_USERS.map((user) => [user, { user, password: generatePassword() }]),
  ) as unknown as NatsCredentials;
}

/** A process's environment for its credential. */
export function credentialEnv(credential: NatsCredential): { NATS_USER: string; NATS_PASSWORD: string } {
  return { NATS_USER: credential.user, NATS_PASSWORD: credential.password };
}

/** The server's environment: every user's password in its variable (see passwordVariable). */
export function passwordEnv(credentials: NatsCredentials): Record<string, string> {
  return Object.fromEntries(NATS_USERS.map((user) => [passwordVariable(user), credentials[user].password]));
}

/**
 * Replies (JetStream acknowledgements, API answers, pulled messages) come to a user's inboxes;
 * a prefix per user lets the server keep one service from reading another's.
 */
export function inboxPrefix(user: string): string {
  return `_INBOX_${user}`;
}
