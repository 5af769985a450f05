// The failed-login throttle and registration budget, over a ThrottleStore. Two keys per login:
// the account at the client's address, which is what locks an account (so guessing from one
// address cannot lock its holder out elsewhere), and the address alone, which limits one
// address guessing across many accounts. Registrations spend a per-address budget.
import { createHash } from 'node:crypto';
import {
  beginAttempt,
  endAttempt,
  takeRegistration,
  type BackOffOptions,
  type Decision,
  type Outcome,
  type RegisterBudget,
} from './login-throttle-policy.ts';
import { MemoryThrottleStore, type ThrottleStore } from './login-throttle-store.ts';

export type { Outcome } from './login-throttle-policy.ts';

export interface LoginThrottleOptions {
  readonly enabled: boolean;
  /** Failed logins for one account from one address. */
  readonly account: BackOffOptions;
  /** Failed logins from one address, whatever the account. */
  readonly address: BackOffOptions;
  /** Registrations from one address. */
  readonly register: RegisterBudget;
  /** The most keys the in-memory store keeps (the Redis store lets keys expire instead). */
  readonly maxKeys: number;
}

/** An allowed login attempt; end it exactly once, with what became of it. */
export interface LoginAttempt {
  end(outcome: Outcome): Promise<void>;
}

export type LoginDecision =
  | { readonly allowed: true; readonly attempt: LoginAttempt }
  | { readonly allowed: false; readonly retryAfterSeconds: number };

export interface LoginThrottle {
  beginLogin(email: string, address: string): Promise<LoginDecision>;
  takeRegistration(address: string): Promise<Decision>;
  close(): Promise<void>;
}

const NO_ATTEMPT: LoginAttempt = { end: async () => undefined };
const SWEEP_INTERVAL_MS = 60_000;

/** The store each instance keeps for itself (without REDIS_URL, or while Redis cannot answer). */
export function createMemoryThrottleStore(
  options: Pick<LoginThrottleOptions, 'maxKeys'>,
  now: () => number = Date.now,
): ThrottleStore {
  return new MemoryThrottleStore({ maxKeys: options.maxKeys, sweepIntervalMs: SWEEP_INTERVAL_MS, now });
}

export function createLoginThrottle(
  options: LoginThrottleOptions,
  now: () => number = Date.now,
  store: ThrottleStore = createMemoryThrottleStore(options, now),
): LoginThrottle {
  if (!options.enabled) {
    return {
      beginLogin: async () => ({ allowed: true, attempt: NO_ATTEMPT }),
      takeRegistration: async () => ({ allowed: true }),
      close: () => store.close(),
    };
  }
  const begin = (key: string, backOff: BackOffOptions) =>
    store.update(key, now(), (state) => beginAttempt(state, now(), backOff));
  const end = (key: string, backOff: BackOffOptions, outcome: Outcome, reset = false) =>
    store.update(key, now(), (state) => endAttempt(state, now(), outcome, backOff, reset));

  return {
    async beginLogin(email, address) {
      const accountKey = `login:account:${digest(address, normalizeEmail(email))}`;
      const addressKey = `login:address:${digest(address)}`;
      const byAccount = await begin(accountKey, options.account);
      const byAddress = await begin(addressKey, options.address);
      if (!byAccount.allowed || !byAddress.allowed) {
        // Give back what the other key let through: this attempt will not be made.
        if (byAccount.allowed) await end(accountKey, options.account, 'abandoned');
        if (byAddress.allowed) await end(addressKey, options.address, 'abandoned');
        return { allowed: false, retryAfterSeconds: Math.max(retryAfter(byAccount), retryAfter(byAddress)) };
      }
      let ended = false;
      return {
        allowed: true,
        attempt: {
          async end(outcome) {
            if (ended) return;
            ended = true;
            // Success forgets the account's failures at this address, but not the address's:
            // signing in to one's own account must not buy more guesses at others.
            await end(accountKey, options.account, outcome, true);
            await end(addressKey, options.address, outcome);
          },
        },
      };
    },
    takeRegistration: (address) =>
      store.update(`register:address:${digest(address)}`, now(), (state) =>
        takeRegistration(state, now(), options.register),
      ),
    close: () => store.close(),
  };
}

/** As the users subgraph reads the email, so one account has one key however it is spelt. */
export function normalizeEmail(email: string): string {
  return email.trim().toLowerCase();
}

const retryAfter = (decision: Decision) => (decision.allowed ? 0 : decision.retryAfterSeconds);

/**
 * Keys of a fixed size whatever the client sent (an email may be as long as the body allows),
 * and no email in clear in the store.
 */
function digest(...parts: string[]): string {
  return createHash('sha256').update(parts.join('\n')).digest('base64url').slice(0, 24);
}
