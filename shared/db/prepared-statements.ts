// The prepared statements of one connection, at most `limit` of them, least recently used
// evicted first. PostgreSQL keeps every prepared statement of a session until it ends, and pg
// remembers every one it prepared, so naming each distinct text once (as this client first did)
// grew both without bound with every distinct text, e.g. a query builder's `in ($1, $2, ...)`
// for each list length. Neither pg nor pg-pool bounds them, and the drivers that do (postgres.js,
// pg-native) would replace pg under MikroORM, so this small cache does it.
//
// Names are never reused on a connection: an evicted statement may still be in flight in the
// pipeline, and pg refuses a name that was used for another text. An evicted statement is
// deallocated on the server (after anything already sent that uses it) and forgotten by pg.

/** What the cache needs of the connection it names statements for. */
export interface StatementOwner {
  /** Sends `deallocate <name>` after everything already sent, without waiting for it. */
  deallocate(name: string): void;
}

export class PreparedStatements {
  static readonly DEFAULT_LIMIT = 100;

  /** Names by text, least recently used first (a Map iterates in insertion order). */
  readonly #names = new Map<string, string>();
  readonly #owner: StatementOwner;
  readonly #limit: number;
  #next = 0;

  constructor(owner: StatementOwner, limit = PreparedStatements.DEFAULT_LIMIT) {
    if (!Number.isInteger(limit) || limit < 1) throw new RangeError('preparedStatementLimit must be >= 1');
    this.#owner = owner;
    this.#limit = limit;
  }

  /** The name to run `text` under: its existing one, or a new one (evicting the oldest if full). */
  nameFor(text: string): string {
    let name = this.#names.get(text);
    if (name !== undefined) {
      // Most recently used: move to the end.
      this.#names.delete(text);
      this.#names.set(text, name);
      return name;
    }
    if (this.#names.size >= this.#limit) {
      const [oldestText, oldestName] = this.#names.entries().next().value!;
      this.#names.delete(oldestText);
      this.#owner.deallocate(oldestName);
    }
    name = `pipelined_${++this.#next}`;
    this.#names.set(text, name);
    return name;
  }

  get size(): number {
    return this.#names.size;
  }
}
