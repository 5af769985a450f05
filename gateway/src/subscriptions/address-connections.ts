// A cap on the WebSockets one client address holds open on this gateway instance. The per-user
// subscription caps bound what a signed-in client can watch, and an anonymous socket is closed
// after a while, but neither bounds how many sockets one address keeps open at once: each holds
// its buffers, timers and graphql-ws state, so one address could grow the process by as many
// sockets as the kernel gives it ports. Counts are dropped at zero, so the map only holds
// addresses with open sockets.
import { countDown, countUp, releaseOnce } from './counts.ts';

export class AddressConnections {
  readonly max: number;
  readonly #open = new Map<string, number>();

  constructor(max: number) {
    this.max = max;
  }

  /** Counts a socket for `address`: its release (safe to call twice), or undefined when the cap is full. */
  take(address: string): (() => void) | undefined {
    if ((this.#open.get(address) ?? 0) >= this.max) return undefined;
    countUp(this.#open, address);
    return releaseOnce(() => countDown(this.#open, address));
  }

  /** Sockets counted for `address` (0 when none). */
  heldBy(address: string): number {
    return this.#open.get(address) ?? 0;
  }

  /** Addresses with at least one socket counted. */
  get addresses(): number {
    return this.#open.size;
  }
}
