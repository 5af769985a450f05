// Every statement is a round trip, and on this kind of machine a round trip (two wake-ups, two
// system calls) costs more than most statements themselves. Within a transaction some statements
// return nothing anyone reads: BEGIN, and writes whose only possible outcome of interest is an
// error (an inbox row, an outbox row, a history row, a lock). This client holds such statements
// back and sends them in front of the transaction's next statement, as one simple-query message.
// Nothing is reordered: PostgreSQL runs them in the order they were issued, and stops at the
// first error. What changes is when an error is reported: with the next statement (or COMMIT),
// which then fails with the held statement's error and does not run itself. The transaction is
// failed either way, so no caller can observe a difference except in timing.
//
// One guard comes with it: PostgreSQL answers COMMIT in a failed transaction with a silent
// ROLLBACK. A caller that caught an error it took for its own statement's and committed would
// believe its changes kept; here such a COMMIT rolls back and throws the error instead.
//
// Outside a transaction nothing is held. A held statement must be a single statement without
// bind parameters (MikroORM inlines them, so `em.execute` statements qualify).
import pg from 'pg';

const DEFERRABLE = '/* deferrable */ ';

/** Marks a statement the client may hold until the transaction's next one (see above). */
export const deferrable = (sql: string): string => DEFERRABLE + sql;

const BEGIN = /^\s*(begin|start\s+transaction)\b/i;
const COMMIT = /^\s*(commit|end)\s*;?\s*$/i;
const ROLLBACK = /^\s*rollback\s*;?\s*$/i;
/** After ROLLBACK TO SAVEPOINT the transaction is usable again. */
const ROLLBACK_TO = /^\s*rollback\s+to\b/i;

/** What a held statement answers now; nobody reads more than the command. */
const heldResult = (command: string) => ({ command, rowCount: 0, rows: [], fields: [], oid: 0 });

type QueryResult = pg.QueryResult | pg.QueryResult[];

export class PipelinedClient extends pg.Client {
  /** Statements held for the next one, in order. */
  #held: string[] = [];
  /** A BEGIN was issued (held or sent) and no COMMIT or ROLLBACK yet. */
  #inTransaction = false;
  /** That BEGIN is still held: nothing of the transaction reached the server. */
  #beginHeld = false;
  /** The first error of this transaction, if a statement failed. */
  #failed: unknown;

  // pg.Client#query has a dozen overloads; this one passes every form it does not handle through.
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  override query(config: any, values?: any, callback?: any): any {
    const text = typeof config === 'string' ? config : undefined;
    const simple =
      text !== undefined &&
      callback === undefined &&
      (values === undefined || (Array.isArray(values) && values.length === 0));
    if (!simple) {
      // Parameters, a cursor or a callback: send what is held first; the client's queue keeps
      // the order, and a held statement's error fails the transaction this query runs in.
      if (this.#held.length > 0) void super.query(this.#take()).catch(() => undefined);
      return super.query(config, values, callback);
    }
    return this.#simple(text);
  }

  async #simple(text: string): Promise<QueryResult> {
    if (BEGIN.test(text)) {
      this.#inTransaction = true;
      this.#beginHeld = true;
      this.#failed = undefined;
      this.#held.push(text);
      return heldResult('BEGIN');
    }
    if (this.#inTransaction && text.startsWith(DEFERRABLE)) {
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
        await super.query('rollback');
        throw failed;
      }
      if (ROLLBACK.test(text)) {
        // Whatever is held is undone by the rollback before it ever ran.
        this.#held = [];
        if (untouched) return heldResult('ROLLBACK');
        return (await super.query(text)) as pg.QueryResult;
      }
      if (untouched && this.#held.length === 1) {
        // BEGIN then COMMIT with nothing between: there is nothing to send.
        this.#held = [];
        return heldResult('COMMIT');
      }
    }
    if (ROLLBACK_TO.test(text)) this.#failed = undefined;
    try {
      return await this.#send(text);
    } catch (err) {
      if (this.#inTransaction) this.#failed ??= err;
      throw err;
    }
  }

  /** Sends the held statements and `text` as one message; answers with `text`'s result(s). */
  async #send(text: string): Promise<QueryResult> {
    const held = this.#held.length;
    if (held === 0) return (await super.query(text)) as QueryResult;
    this.#beginHeld = false;
    const results = (await super.query(`${this.#take()};\n${text}`)) as unknown as pg.QueryResult[];
    const own = results.slice(held);
    return own.length === 1 ? own[0]! : own;
  }

  #take(): string {
    const text = this.#held.join(';\n');
    this.#held = [];
    this.#beginHeld = false;
    return text;
  }
}
