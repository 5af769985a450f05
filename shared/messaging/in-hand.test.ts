import { afterEach, beforeEach, describe, expect, it, jest } from '@jest/globals';
import type { JsMsg } from '@nats-io/jetstream';
import { MessagesInHand } from './in-hand.ts';

/** A message that counts the times it was reported in progress. */
const message = () => {
  const msg = { reports: 0, working: () => (msg.reports += 1) };
  return msg;
};

describe('MessagesInHand', () => {
  beforeEach(() => {
    jest.useFakeTimers({ now: 1_000_000 });
  });
  afterEach(() => {
    jest.useRealTimers();
  });

  it('reports a held message in progress until it has been held maxHoldMs', () => {
    const inHand = new MessagesInHand({ intervalMs: 5_000, maxHoldMs: 60_000, waitingOut: () => false });
    const msg = message();
    inHand.add(msg as unknown as JsMsg);
    jest.advanceTimersByTime(2_000);
    expect(msg.reports).toBe(0);
    jest.advanceTimersByTime(58_000);
    expect(msg.reports).toBe(11);
    jest.advanceTimersByTime(60_000);
    expect(msg.reports).toBe(11);
    inHand.clear();
  });

  it('keeps reporting, however long, while the consumer waits out an outage', () => {
    let outage = true;
    const inHand = new MessagesInHand({ intervalMs: 5_000, maxHoldMs: 60_000, waitingOut: () => outage });
    const msg = message();
    inHand.add(msg as unknown as JsMsg);
    jest.advanceTimersByTime(300_000);
    expect(msg.reports).toBe(60);
    outage = false;
    jest.advanceTimersByTime(10_000);
    expect(msg.reports).toBe(60);
    inHand.clear();
  });

  it('forgets settled messages and stops its timer when none is left', () => {
    const inHand = new MessagesInHand({ intervalMs: 5_000, maxHoldMs: 60_000, waitingOut: () => false });
    const msg = message();
    inHand.add(msg as unknown as JsMsg);
    inHand.delete([msg as unknown as JsMsg]);
    jest.advanceTimersByTime(30_000);
    expect(msg.reports).toBe(0);
    expect(jest.getTimerCount()).toBe(0);
  });
});
