import { describe, expect, it } from '@jest/globals';
import type { Identity } from '../../../shared/auth/identity.ts';
import { prepareOrderSubscription } from '../../../test/support/order-subscription.ts';
import { Feed, Group, Subscriber, groupKey, type Sink } from './feeds.ts';

const ORDER = '0b6f3f52-3c1e-4f5e-9a55-2f1d4b7e8a10';
const ada: Identity = { userId: 'ada', role: 'CUSTOMER', token: 'ada', expiresAt: 2e9 };
const bob: Identity = { userId: 'bob', role: 'CUSTOMER', token: 'bob', expiresAt: 2e9 };
const admin = (userId: string, expiresAt = 2e9): Identity => ({
  userId,
  role: 'ADMIN',
  token: userId,
  expiresAt,
});
const sink: Sink = { transport: 'ws', connection: {}, bufferedBytes: () => 0, close: () => undefined };

const prepare = (query: string, variables: Record<string, unknown> = { id: ORDER }) =>
  prepareOrderSubscription(query, variables);
const named = (name: string) =>
  prepare(`subscription ${name}($id: ID!) { orderStatusChanged(orderId: $id) { id note } }`);

describe('groupKey', () => {
  it('puts the same selection and variables under the same rights together, whatever the operation is named', () => {
    expect(groupKey(ada, named('A'))).toBe(groupKey(ada, named('B')));
    expect(groupKey(admin('root'), named('A'))).toBe(groupKey(admin('other'), named('A')));
  });

  it('separates users, selections and variables', () => {
    expect(groupKey(ada, named('A'))).not.toBe(groupKey(bob, named('A')));
    expect(groupKey(ada, named('A'))).not.toBe(groupKey(admin('ada'), named('A')));
    const other = prepare(`subscription A($id: ID!) { orderStatusChanged(orderId: $id) { id status } }`);
    expect(groupKey(ada, named('A'))).not.toBe(groupKey(ada, other));
    const withNote = `subscription A($id: ID!, $n: Boolean!) {
      orderStatusChanged(orderId: $id) { id note @include(if: $n) } }`;
    expect(groupKey(ada, prepare(withNote, { id: ORDER, n: true }))).not.toBe(
      groupKey(ada, prepare(withNote, { id: ORDER, n: false })),
    );
  });
});

describe('Group', () => {
  const join = (group: Group, identity: Identity, last?: number) => {
    const s = new Subscriber(group, identity, sink, () => undefined);
    if (last !== undefined) {
      s.last = last;
      s.started = true;
    }
    group.subscribers.add(s);
    return s;
  };

  it('executes with the token of the member whose token lasts longest', () => {
    const group = new Group('key', named('A'));
    expect(group.identity()).toBeUndefined();
    join(group, admin('short', 1e9));
    join(group, admin('long', 3e9));
    join(group, admin('middle', 2e9));
    expect(group.identity()?.userId).toBe('long');
  });

  it('drops the results every started member is past, keeping those a member still needs', () => {
    const group = new Group('key', named('A'));
    for (const sequence of [1, 2, 3, 4])
      group.results.set(sequence, Promise.resolve({ ok: false, errors: [] }));
    join(group, ada, 2);
    join(group, ada, 3);
    join(group, ada); // not started: it has no position yet
    group.prune();
    expect([...group.results.keys()]).toEqual([3, 4]);
  });
});

describe('Feed', () => {
  it('keeps the newest sequence heard and the status it came with, whatever the order they arrive in', () => {
    const feed = new Feed(ORDER);
    feed.heard(3, 'PAYMENT_AUTHORIZED');
    feed.heard(2, 'INVENTORY_RESERVED');
    feed.heard(3, 'SOMETHING_ELSE');
    expect([feed.maxSeen, feed.status]).toEqual([3, 'PAYMENT_AUTHORIZED']);
    feed.heard(4, 'CONFIRMED');
    expect([feed.maxSeen, feed.status]).toEqual([4, 'CONFIRMED']);
  });

  it('knows where the order stands only for rights that have read it here, and up to what it has heard', () => {
    const feed = new Feed(ORDER);
    feed.heard(4, 'CONFIRMED');
    expect(feed.known('user:ada', 4)).toBeUndefined(); // heard of, but nobody has read it as ada
    feed.readers.add('user:ada');
    expect(feed.known('user:ada', 4)).toEqual({ sequence: 4, status: 'CONFIRMED' });
    expect(feed.known('user:ada', 1)).toEqual({ sequence: 4, status: 'CONFIRMED' });
    expect(feed.known('user:ada', 5)).toBeUndefined(); // seen elsewhere, not heard of here yet
    expect(feed.known('user:bob', 4)).toBeUndefined();
    expect(feed.known('admin', 4)).toBeUndefined();
  });

  it('knows nothing before a sequence has been heard', () => {
    const feed = new Feed(ORDER);
    feed.readers.add('user:ada');
    expect(feed.known('user:ada', 0)).toBeUndefined();
  });
});
