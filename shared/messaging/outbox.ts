// Transactional outbox: a state change and the messages it causes are written in one
// PostgreSQL transaction; the writing process publishes them right after its commit
// (publish-after-commit.ts: consumers and the services' mutations), and the relay
// (outbox-relay.ts) whatever that missed or whoever wrote without a publisher. A crash between
// commit and publish therefore loses nothing, and nothing is published for a rolled-back change.
import type { EntityManager } from '@mikro-orm/postgresql';
import { randomUUID } from 'node:crypto';
import { validateMessage, type Subject, type PayloadOf } from '../contracts/index.ts';
import { traceHeaders } from '../observability/tracing.ts';
import { queryUnread } from '../db/statements.ts';

/** SQL for the tables every service that publishes or consumes needs; part of its first migration. */
export const MESSAGING_TABLES_SQL = [
  // The relay deletes what it has published, so it keeps no "last id" it could skip past: a row
  // whose transaction commits late is simply there on a later pass. (A relay that reads
  // `seq > last` would need a visibility horizon such as pg_snapshot_xmin to avoid skipping it.)
  `create table outbox (
     seq bigserial primary key,
     id uuid not null unique,
     subject text not null,
     payload jsonb not null,
     headers jsonb not null default '{}',
     created_at timestamptz not null default now()
   )`,
  // One row per handled message and consumer, written with the handler's effect.
  `create table inbox (
     consumer text not null,
     message_id text not null,
     handled_at timestamptz not null default now(),
     primary key (consumer, message_id)
   )`,
  `create index inbox_handled_at on inbox (handled_at)`,
];

export const OUTBOX_CHANNEL = 'outbox';

export interface OutgoingMessage<S extends Subject = Subject> {
  readonly subject: S;
  /** Appended to the subject, e.g. an order id for per-order subjects. */
  readonly subjectSuffix?: string;
  readonly payload: PayloadOf<S>;
  /** The message id (JetStream de-duplicates on it); fresh when omitted. */
  readonly id?: string;
  readonly headers?: Readonly<Record<string, string>>;
}

/** A message as the outbox stores it: its subject unqualified, its payload as JSON. */
export interface OutboxRow {
  readonly id: string;
  readonly subject: string;
  readonly payload: string;
  readonly headers: Readonly<Record<string, string>>;
}

/**
 * Transactions that write their outbox rows once, at the end: a consumer handling a batch of
 * messages in one transaction sends one INSERT for every reply instead of one per message.
 */
const deferred = new WeakMap<EntityManager, OutboxRow[]>();

/**
 * From now on, `enqueue(em, ...)` only collects rows for this transaction; the returned function
 * writes them all (in the order they were enqueued), must run before the transaction commits,
 * and returns them. `notify: false` leaves out the relay's wake-up, for a caller that publishes
 * the rows itself once the transaction has committed (commit-publisher.ts).
 */
export function deferOutbox(em: EntityManager, { notify = true } = {}): () => Promise<readonly OutboxRow[]> {
  const rows: OutboxRow[] = [];
  deferred.set(em, rows);
  return async () => {
    deferred.delete(em);
    await insertRows(em, rows, notify);
    return rows;
  };
}

/**
 * Writes messages to the outbox in the EntityManager's current transaction. Call it inside
 * `em.transactional(...)` together with the change that causes them. Payloads are validated
 * here too, so a bad message fails the change instead of poisoning a consumer later.
 */
export async function enqueue(em: EntityManager, messages: readonly OutgoingMessage[]): Promise<void> {
  if (messages.length === 0) return;
  const rows = outboxRows(messages);
  const pending = deferred.get(em);
  if (pending) pending.push(...rows);
  else await insertRows(em, rows);
}

/** Validated rows for the outbox, with the active trace's headers. */
function outboxRows(messages: readonly OutgoingMessage[]): OutboxRow[] {
  // The active trace (a request's or a handled message's) travels with the messages it causes:
  // the relay copies these headers onto the NATS message and the consumer continues the trace.
  const trace = traceHeaders();
  return messages.map((message): OutboxRow => {
    validateMessage(message.subject, message.payload);
    return {
      id: message.id ?? randomUUID(),
      subject: message.subjectSuffix ? `${message.subject}.${message.subjectSuffix}` : message.subject,
      payload: JSON.stringify(message.payload),
      headers: { ...trace, ...message.headers },
    };
  });
}

/**
 * Up to this many rows bind one parameter per value (one statement text per count); more bind as
 * one array per column, zipped back into rows by `unnest` (one text whatever their number). A
 * transaction usually writes one or two rows, and for so few the arrays cost more than the rows:
 * pg escapes every payload into an array literal, and PostgreSQL parses those literals again.
 */
const MAX_VALUES_ROWS = 4;

/** The rows to insert into the outbox's four columns, as a VALUES list or as unnested arrays. */
function rowSource(count: number): string {
  if (count > MAX_VALUES_ROWS) return 'select * from unnest(?::uuid[], ?::text[], ?::jsonb[], ?::jsonb[])';
  return `values ${Array.from({ length: count }, () => '(?::uuid, ?, ?::jsonb, ?::jsonb)').join(', ')}`;
}

// A notification delivered at commit wakes the relay at once instead of at its next poll.
const NOTIFY_IF_WRITTEN = `select pg_notify('${OUTBOX_CHANNEL}', '') from (select 1) once where exists (select 1 from written)`;

/** The statement that writes `count` rows, with or without the relay's wake-up; built once each. */
const statements = new Map<string, string>();
function writeStatement(count: number, notify: boolean): string {
  const shape = Math.min(count, MAX_VALUES_ROWS + 1);
  const key = `${shape}:${notify}`;
  let text = statements.get(key);
  if (text === undefined) {
    const insert = `insert into outbox (id, subject, payload, headers) ${rowSource(shape)}`;
    text = notify ? `with written as (${insert} returning 1)\n${NOTIFY_IF_WRITTEN}` : insert;
    statements.set(key, text);
  }
  return text;
}

const outboxParams = (rows: readonly OutboxRow[]) =>
  rows.length > MAX_VALUES_ROWS
    ? [
        rows.map((r) => r.id),
        rows.map((r) => r.subject),
        rows.map((r) => r.payload),
        rows.map((r) => JSON.stringify(r.headers)),
      ]
    : rows.flatMap((r) => [r.id, r.subject, r.payload, JSON.stringify(r.headers)]);

async function insertRows(em: EntityManager, rows: readonly OutboxRow[], notify = true): Promise<void> {
  if (rows.length === 0) return;
  // One statement: the rows and (unless the caller publishes them itself) the relay's wake-up.
  // Nobody reads its result, so in a transaction it travels with the next statement, usually
  // the COMMIT.
  await queryUnread(em, writeStatement(rows.length, notify), outboxParams(rows));
}
