// The stream one subscriber reads: an AsyncGenerator over a bounded queue. The engine pushes
// without waiting (a slow reader never holds up anyone else); the transport (graphql-ws,
// graphql-sse) pulls at the pace of its socket. `return()` from the transport ends it at once,
// even while a `next()` is pending (a plain `async function*` would wait for the next value).
import type { LiveResult } from './engine.ts';

export class LiveStream implements AsyncGenerator<LiveResult, undefined, unknown> {
  private readonly queue: LiveResult[] = [];
  private waiting: ((r: IteratorResult<LiveResult, undefined>) => void) | undefined;
  private ending = false;
  private closed = false;
  private readonly onClose: () => void;
  private readonly closeListeners: (() => void)[] = [];

  constructor(onClose: () => void) {
    this.onClose = onClose;
  }

  /** Values not yet taken by the transport. */
  get backlog(): number {
    return this.queue.length;
  }

  get isClosed(): boolean {
    return this.closed || this.ending;
  }

  /** Calls `listener` once the stream has closed (at once if it has). */
  onClosed(listener: () => void): void {
    if (this.closed) listener();
    else this.closeListeners.push(listener);
  }

  push(value: LiveResult): void {
    if (this.closed || this.ending) return;
    const waiting = this.waiting;
    if (waiting) {
      this.waiting = undefined;
      waiting({ value, done: false });
    } else this.queue.push(value);
  }

  /** Ends after what is queued has been read. */
  end(): void {
    if (this.closed || this.ending) return;
    this.ending = true;
    if (this.queue.length === 0) this.finish();
  }

  next(): Promise<IteratorResult<LiveResult, undefined>> {
    const value = this.queue.shift();
    if (value !== undefined) {
      if (this.ending && this.queue.length === 0) this.finish(false);
      return Promise.resolve({ value, done: false });
    }
    if (this.closed || this.ending) {
      this.finish();
      return Promise.resolve({ value: undefined, done: true });
    }
    return new Promise((resolve) => (this.waiting = resolve));
  }

  return(): Promise<IteratorResult<LiveResult, undefined>> {
    this.queue.length = 0;
    this.finish();
    return Promise.resolve({ value: undefined, done: true });
  }

  throw(err?: unknown): Promise<IteratorResult<LiveResult, undefined>> {
    this.queue.length = 0;
    this.finish();
    return Promise.reject(err instanceof Error ? err : new Error(String(err)));
  }

  [Symbol.asyncIterator](): this {
    return this;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.return();
  }

  private finish(releaseWaiter = true): void {
    if (releaseWaiter && this.waiting) {
      const waiting = this.waiting;
      this.waiting = undefined;
      waiting({ value: undefined, done: true });
    }
    if (this.closed) return;
    this.closed = true;
    this.onClose();
    for (const listener of this.closeListeners.splice(0)) listener();
  }
}
