// Every statement is a round trip, and on this kind of machine a round trip (two wake-ups, two
// system calls) costs more than most statements themselves. Within a transaction some statements
// return nothing anyone reads: BEGIN, and writes whose only possible outcome of interest is an
// error (an inbox row, an outbox row, a history row, a lock). Their callers say so by running
// them through `withoutWaiting`, and this client does not wait for them:
//  - BEGIN and such statements without bind parameters are held and sent in front of the
//    transaction's next statement, as one simple-query message;
//  - such statements with bind parameters are sent at once and not waited for: the client runs
//    in pg's pipeline mode, so the next statement follows them on the wire.
// Nothing is reordered: PostgreSQL runs everything in the order it was issued. What changes is
// when an error is reported: with the next statement that is waited for (or COMMIT), which then
// fails with the earlier statement's error. The transaction is failed either way.
//
// One guard comes with it: PostgreSQL answers COMMIT in a failed transaction with a silent
// ROLLBACK. A caller that caught an error it took for its own statement's and committed would
// believe its changes kept; here such a COMMIT rolls back and throws the error instead.
//
// Statements with bind parameters are also prepared per connection (see PreparedStatements), so
// PostgreSQL parses and plans them once instead of every time.
//
// Outside a transaction nothing is held or left unawaited.
import { AsyncLocalStorage } from 'node:async_hooks';
import pg from 'pg';
import { PreparedStatements } from './prepared-statements.ts';

/**
 * Which statement `withoutWaiting` vouches for. The mark travels with the async context (not in
 * the SQL text), because the statement reaches this client through Kysely and pg, which pass on
 * only its text and values. It applies to the first statement sent from within, and only to it.
 */
const unread = new AsyncLocalStorage<{ claimed: boolean }>();

/**
 * Runs `send`, which sends one statement whose result nobody reads: its rows and counts are
 * ignored, only an error matters. Inside a transaction on a PipelinedClient the statement may
 * then travel with the transaction's next one, which reports its error; elsewhere it runs as
 * usual. Whatever `send` resolves to for such a statement carries no rows.
 */
export function withoutWaiting<T>(send: () => Promise<T>): Promise<T> {
  return unread.run({ claimed: false }, send);
}

/** Whether the statement being issued now is the one a `withoutWaiting` caller vouched for. */
function claimUnread(): boolean {
  const mark = unread.getStore();
  if (mark === undefined || mark.claimed) return false;
  mark.claimed = true;
  return true;
}

const BEGIN = /^\s*(begin|start\s+transaction)\b/i;
const COMMIT = /^\s*(commit|end)\s*;?\s*$/i;
const ROLLBACK = /^\s*rollback\s*;?\s*$/i;
/** After ROLLBACK TO SAVEPOINT the transaction is usable again. */
const ROLLBACK_TO = /^\s*rollback\s+to\b/i;

/** What a held statement answers now; nobody reads more than the command. */
const heldResult = (command: string) => ({ command, rowCount: 0, rows: [], fields: [], oid: 0 });

type QueryResult = pg.QueryResult | pg.QueryResult[];

export interface PipelinedClientConfig extends pg.ClientConfig {
  /** How many prepared statements one connection keeps (default PreparedStatements.DEFAULT_LIMIT). */
  readonly preparedStatementLimit?: number;
}

export class PipelinedClient extends pg.Client {
  /** Simple statements held for the next one, in order. */
  #held: string[] = [];
  /** Statements sent and not waited for, each resolving to its error (undefined if none). */
  #sent: Promise<unknown>[] = [];
  /** A BEGIN was issued (held or sent) and no COMMIT or ROLLBACK yet. */
  #inTransaction = false;
  /** That BEGIN is still held: nothing of the transaction reached the server. */
  #beginHeld = false;
  /** The first error of this transaction, if a statement failed. */
  #failed: unknown;
  readonly #prepared: PreparedStatements;

  constructor(config?: string | PipelinedClientConfig) {
    const options: PipelinedClientConfig =
      typeof config === 'string' ? { connectionString: config } : (config ?? {});
    // pg-pool makes `password` non-enumerable (to keep it out of stack traces): copy it by name.
    super({ ...options, password: options.password, pipeline: true } as pg.ClientConfig);
    this.#prepared = new PreparedStatements(
      { deallocate: (name) => this.#deallocate(name) },
      options.preparedStatementLimit,
    );
  }

  // pg.Client#query has a dozen overloads; this one passes every form it does not handle through.
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  override query(config: any, values?: any, callback?: any): any {
    const text = typeof config === 'string' ? config : undefined;
    // Claimed before anything else, so that the mark never passes on to a later statement.
    const deferrable = claimUnread();
    if (text === undefined || callback !== undefined) {
      // A cursor, a query object or a callback: not ours to hold; what is held goes first.
      this.#sendHeld();
      // pg's own arguments, passed through unchanged to the overload that takes them.
      // eslint-disable-next-line @typescript-eslint/no-unsafe-argument
      return super.query(config, values, callback);
    }
    return Array.isArray(values) && values.length > 0
      ? this.#parameterized(text, values, deferrable)
      : this.#simple(text, deferrable);
  }

  async #parameterized(text: string, values: unknown[], deferrable: boolean): Promise<QueryResult> {
    this.#sendHeld();
    const query = { name: this.#prepared.nameFor(text), text, values };
    if (this.#inTransaction && deferrable) {
      this.#track(super.query(query));
      return heldResult('DEFERRED');
    }
    return this.#settle(super.query(query));
  }

  async #simple(text: string, deferrable: boolean): Promise<QueryResult> {
    if (BEGIN.test(text)) {
      this.#inTransaction = true;
      this.#beginHeld = true;
      this.#failed = undefined;
      this.#held.push(text);
      return heldResult('BEGIN');
    }
    if (this.#inTransaction && deferrable) {
      this.#held.push(text);
      return heldResult('DEFERRED');
    }
    if (COMMIT.test(text) || ROLLBACK.test(text)) {
      const untouched = this.#beginHeld;
      const failed = this.#failed;
      this.#inTransaction = false;
      this.#beginHeld = false;
      this.#failed = undefined;
      if (failed !== undefined && !ROLLBACK.test(text)) {
        this.#held = [];
        this.#sent = [];
        await super.query('rollback');
        throw failed;
      }
      if (ROLLBACK.test(text)) {
        // Whatever is held is undone by the rollback before it ever ran; what was sent is
        // undone by the rollback, and its errors no longer matter.
        this.#held = [];
        this.#sent = [];
        if (untouched) return heldResult('ROLLBACK');
        return (await super.query(text)) as pg.QueryResult;
      }
      if (untouched && this.#held.length === 1) {
        // BEGIN then COMMIT with nothing between: there is nothing to send.
        this.#held = [];
        return heldResult('COMMIT');
      }
    }
    if (ROLLBACK_TO.test(text)) {
      this.#failed = undefined;
      this.#sent = [];
    }
    const held = this.#held.length;
    const message = held === 0 ? text : `${this.#take()};\n${text}`;
    const results = await this.#settle(super.query(message));
    if (held === 0) return results;
    const own = (results as pg.QueryResult[]).slice(held);
    return own.length === 1 ? own[0]! : own;
  }

  /**
   * Waits for a statement's result and reports the first error among it and the statements sent
   * before it unawaited (an earlier error is the cause of any later one in the transaction).
   */
  async #settle(result: Promise<QueryResult>): Promise<QueryResult> {
    const sent = this.#sent;
    this.#sent = [];
    let own: QueryResult | undefined;
    let ownError: unknown;
    try {
      own = await result;
    } catch (err) {
      ownError = err ?? new Error('query failed');
    }
    const earlier = (await Promise.all(sent)).find((err) => err !== undefined);
    const error = earlier ?? ownError;
    if (error !== undefined) {
      if (this.#inTransaction) this.#failed ??= error;
      throw error;
    }
    return own!;
  }

  /**
   * Drops an evicted prepared statement on the server, in order behind whatever was sent before,
   * and from pg's record of what this connection has prepared (`connection.parsedStatements`,
   * not part of pg's typed API: without this, that record alone would keep growing). Its failure
   * matters to nobody: in a failed transaction the statement just stays until the session ends,
   * and its name is never used again.
   */
  #deallocate(name: string): void {
    (super.query(`deallocate ${name}`) as Promise<unknown>).catch(() => undefined);
    const connection = (this as unknown as { connection?: { parsedStatements?: Record<string, string> } })
      .connection;
    if (connection?.parsedStatements) delete connection.parsedStatements[name];
  }

  #track(result: Promise<unknown>): void {
    this.#sent.push(
      result.then(
        () => undefined,
        (err: unknown) => err ?? new Error('query failed'),
      ),
    );
  }

  #sendHeld(): void {
    if (this.#held.length > 0) this.#track(super.query(this.#take()));
  }

  #take(): string {
    const text = this.#held.join(';\n');
    this.#held = [];
    this.#beginHeld = false;
    return text;
  }
}
