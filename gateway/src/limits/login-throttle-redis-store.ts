// The login throttle's states in Redis, shared by every gateway instance that uses it, so
// guesses spread over several gateways count as one series.
//
// Why not rate-limiter-flexible here (it keeps the request buckets): the throttle's policy
// (login-throttle-policy.ts: attempts in flight count against the free failures, delays that
// double, a success that forgets one key and not the other) is a transition of one structured
// state, which the library's counters and blocks cannot express in one atomic step; built from
// several of its calls, two gateways could each let through a guess the other already counted.
// Instead the pure transition runs here in the gateway and is written back with a
// compare-and-set script, retried when another instance changed the state in between
// (optimistic concurrency: every lost round is one someone else won). Within one instance the
// updates of a key run one after another, so a burst of parallel logins contends only with
// the other instances, not with itself. Two instances that each run such a queue of one key
// can still keep beating each other round after round, each reading again at once after a
// loss, in step with the other's next update: after a lost round an update pauses a random
// moment before it reads again, which breaks the step, and it gives up only after a time
// rather than a number of rounds.
import type { Redis } from 'ioredis';
import type { ThrottleState, Transition } from './login-throttle-policy.ts';
import type { ThrottleStore } from './login-throttle-store.ts';

/** KEYS[1]: the state; ARGV: the value read ('' for none), the new value ('' to delete), its time to live in ms. */
const COMPARE_AND_SET = `
local current = redis.call('GET', KEYS[1])
if (current or '') ~= ARGV[1] then return 0 end
if ARGV[2] == '' then
  redis.call('DEL', KEYS[1])
else
  redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3])
end
return 1
`;

/**
 * How long an update may keep losing rounds to other instances before it gives up (the caller
 * then decides from memory). A round is lost only when another instance's update of the key
 * went through, so the instances together always progress; a fixed number of rounds was not
 * enough when a burst of guesses at one account reached two instances at once, since each
 * guess writes the key twice (begin and end), and that fell back to each instance counting
 * alone, the very attack the shared state is for.
 */
const GIVE_UP_AFTER_MS = 2000;

/** The longest random pause after a lost round, in ms: it grows with the rounds lost, to this. */
const MAX_PAUSE_MS = 8;

const pauseAfterLoss = (lost: number): Promise<void> =>
  new Promise((resolve) => setTimeout(resolve, Math.random() * Math.min(MAX_PAUSE_MS, lost)));

interface CompareAndSet {
  throttleCompareAndSet(key: string, expected: string, next: string, ttlMs: number): Promise<number>;
}

export class RedisThrottleStore implements ThrottleStore {
  readonly #redis: Redis & CompareAndSet;
  readonly #prefix: string;
  /** The last update queued for each key with one in flight. */
  readonly #queues = new Map<string, Promise<unknown>>();

  /** `prefix` comes after the connection's own key prefix (REDIS_KEY_PREFIX). */
  constructor(redis: Redis, prefix = 'throttle:') {
    redis.defineCommand('throttleCompareAndSet', { numberOfKeys: 1, lua: COMPARE_AND_SET });
    this.#redis = redis as Redis & CompareAndSet;
    this.#prefix = prefix;
  }

  update<R>(
    key: string,
    now: number,
    change: (state: ThrottleState | undefined) => Transition<R>,
  ): Promise<R> {
    const run = (this.#queues.get(key) ?? Promise.resolve()).then(() => this.#update(key, now, change));
    const settled = run.then(
      () => undefined,
      () => undefined,
    );
    this.#queues.set(key, settled);
    void settled.then(() => {
      if (this.#queues.get(key) === settled) this.#queues.delete(key);
    });
    return run;
  }

  async #update<R>(
    key: string,
    now: number,
    change: (state: ThrottleState | undefined) => Transition<R>,
  ): Promise<R> {
    const redisKey = this.#prefix + key;
    const giveUpAt = performance.now() + GIVE_UP_AFTER_MS;
    for (let lost = 0; performance.now() < giveUpAt; lost++) {
      if (lost > 0) await pauseAfterLoss(lost);
      const raw = await this.#redis.get(redisKey);
      const current = parseState(raw);
      const { state, result } = change(current && current.expiresAt > now ? current : undefined);
      // A refusal leaves the state as it was: nothing to write (and nothing to contend for).
      if ((current !== undefined && state === current) || (state === undefined && raw === null)) {
        return result;
      }
      const next = state && state.expiresAt > now ? JSON.stringify(state) : '';
      const ttlMs = state ? Math.ceil(state.expiresAt - now) : 0;
      if (await this.#redis.throttleCompareAndSet(redisKey, raw ?? '', next, ttlMs)) return result;
    }
    throw new Error(`the login throttle state ${key} kept changing for ${GIVE_UP_AFTER_MS} ms`);
  }

  /** The connection belongs to whoever opened it. */
  async close(): Promise<void> {}
}

/** A stored state, or undefined for none or for anything that is not one (it is replaced). */
function parseState(raw: string | null): ThrottleState | undefined {
  if (raw === null) return undefined;
  try {
    const value = JSON.parse(raw) as Partial<ThrottleState> | null;
    if ((value?.kind === 'failures' || value?.kind === 'bucket') && typeof value.expiresAt === 'number') {
      return value as ThrottleState;
    }
  } catch {
    // Not JSON: treated as no state, and overwritten by the next change.
  }
  return undefined;
}
