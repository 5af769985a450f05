import { describe, expect, it } from '@jest/globals';
import type { Identity } from '../../../shared/auth/identity.ts';
import { readQueryLimits } from '../../../shared/graphql/limits/config.ts';
import type { Execute } from './engine.ts';
import { Feed } from './feeds.ts';
import { FirstStateReader, MAX_BATCH } from './first-state.ts';
import { ResumePoints, resumeBatchSize, resumeRead } from './resume-read.ts';
import { shape } from './shaped.ts';

const ORDER = '0b6f3f52-3c1e-4f5e-9a55-2f1d4b7e8a10';

describe('resumeBatchSize', () => {
  it('reads a full batch under the default limits', () => {
    expect(resumeBatchSize(readQueryLimits({}))).toBe(MAX_BATCH);
  });

  it('stays within tighter aliases, cost and token limits, down to one order per query', () => {
    expect(resumeBatchSize(readQueryLimits({ MAX_QUERY_ALIASES: '4' }))).toBe(4);
    expect(resumeBatchSize(readQueryLimits({ MAX_QUERY_COST: '9' }))).toBe(3);
    expect(resumeBatchSize(readQueryLimits({ MAX_QUERY_TOKENS: '100' }))).toBe(5);
    expect(resumeBatchSize(readQueryLimits({ MAX_QUERY_ALIASES: '0' }))).toBe(1);
  });
});

describe('resumeRead', () => {
  const read = resumeRead(ORDER, 4);

  it('asks only for the sequence and status, and batches them as order(id) fields', () => {
    expect(read.currentQuery).toBe(
      'query ResumePoint($id: ID!) { order(id: $id) { statusSequence status } }',
    );
    expect(read.variables).toEqual({ id: ORDER });
    expect(read.batch?.query(2)).toContain('o1: order(id: $__id1)');
  });

  it('answers with where the order stands, or NOT_FOUND when it cannot be seen', () => {
    expect(shape({ data: { order: { statusSequence: 4, status: 'CONFIRMED' } } }, read)).toMatchObject({
      ok: true,
      sequence: 4,
      status: 'CONFIRMED',
    });
    const missing = shape({ data: { order: null } }, read);
    expect(missing.ok).toBe(false);
    expect(!missing.ok && missing.errors.map((e) => e.extensions?.code)).toEqual(['NOT_FOUND']);
  });
});

describe('ResumePoints', () => {
  const ada: Identity = { userId: 'ada', role: 'CUSTOMER', token: 'ada-token', expiresAt: 2e9 };
  const bob: Identity = { userId: 'bob', role: 'CUSTOMER', token: 'bob-token', expiresAt: 2e9 };

  /** The supergraph as these reads see it: each order at `sequence`, visible to ada only. */
  function supergraph(sequence: () => number) {
    const queries: { variables: Readonly<Record<string, unknown>>; identity: Identity }[] = [];
    const execute: Execute = async (_query, variables, identity) => {
      queries.push({ variables, identity });
      const order = identity.userId === 'ada' ? { statusSequence: sequence(), status: 'CONFIRMED' } : null;
      const data: Record<string, unknown> = {};
      for (const name of Object.keys(variables)) data[name === 'id' ? 'order' : `o${name.slice(4)}`] = order;
      return { data };
    };
    return { execute, queries };
  }

  it('shares a read in flight among resumers with the same rights, then answers from the feed', async () => {
    const { execute, queries } = supergraph(() => 4);
    let reads = 0;
    const points = new ResumePoints(new FirstStateReader(execute, () => undefined), 16, () => (reads += 1));
    const feed = new Feed(ORDER);
    const together = await Promise.all([points.of(feed, 4, ada), points.of(feed, 2, ada)]);
    expect(together).toEqual([
      { ok: true, sequence: 4, status: 'CONFIRMED' },
      { ok: true, sequence: 4, status: 'CONFIRMED' },
    ]);
    expect([reads, queries.length]).toEqual([1, 1]);

    // What the engine does with a read that succeeded: the feed now knows for ada.
    feed.readers.add('user:ada');
    feed.heard(4, 'CONFIRMED');
    expect(await points.of(feed, 3, ada)).toEqual({ ok: true, sequence: 4, status: 'CONFIRMED' });
    expect(reads).toBe(1);
  });

  it('does not share a read begun under another feed of the order (one since dropped)', async () => {
    const { execute } = supergraph(() => 4);
    let reads = 0;
    const points = new ResumePoints(new FirstStateReader(execute, () => undefined), 16, () => (reads += 1));
    const [dropped, current] = await Promise.all([
      points.of(new Feed(ORDER), 4, ada),
      points.of(new Feed(ORDER), 4, ada),
    ]);
    expect([dropped, current]).toEqual([
      { ok: true, sequence: 4, status: 'CONFIRMED' },
      { ok: true, sequence: 4, status: 'CONFIRMED' },
    ]);
    expect(reads).toBe(2); // in one query: two orders' worth of the same user
  });

  it('reads anew for other rights, and for a sequence beyond what a shared read answered', async () => {
    let sequence = 4;
    const { execute, queries } = supergraph(() => sequence);
    const points = new ResumePoints(new FirstStateReader(execute, () => undefined), 16, () => undefined);
    const feed = new Feed(ORDER);
    const first = points.of(feed, 4, ada);
    const seenElsewhere = points.of(feed, 5, ada);
    const stranger = points.of(feed, 1, bob);
    await first;
    sequence = 5; // the change the second client saw on another gateway has been committed
    expect(await seenElsewhere).toEqual({ ok: true, sequence: 5, status: 'CONFIRMED' });
    const refused = await stranger;
    expect(refused.ok).toBe(false);
    expect(!refused.ok && refused.errors.map((e) => e.extensions?.code)).toEqual(['NOT_FOUND']);
    expect(queries.map((q) => q.identity.userId).sort()).toEqual(['ada', 'ada', 'bob']);
  });
});
