// What every typed store (`subgraphs/*/src/domain/*.store.ts`) builds its SQL with: Kysely, as
// MikroORM hands it out, typed from the entity definitions (`defineEntity`) and speaking their
// property names. A column added to an entity (and its migration) is known here with its type;
// one renamed or removed is a type error in every statement that uses it.
//
// Each statement is compiled once per shape (compiled-statement.ts says why and how) and its rows
// are mapped by a mapper built once from the entities' metadata (row-mapper.ts).
import type { EntityManager, EntityName, InferKyselyDB } from '@mikro-orm/postgresql';
import { CompiledQuery, type Compilable, type Kysely, type RawBuilder } from 'kysely';
import { bind, shapeOf, slotsFor, templateOf, type StatementTemplate } from './compiled-statement.ts';
import { RowMapper } from './row-mapper.ts';

/**
 * Queries and rows use the entities' property names (`customerId`, not `customer_id`), and values
 * are converted as the entity says (a timestamptz column reads as a Date, as the entity's does).
 */
export const STORE_OPTIONS = { columnNamingStrategy: 'property', convertValues: true } as const;

/** The tables of these entities, as Kysely sees them through STORE_OPTIONS. */
export type StoreTables<Entities extends { name: string }> = InferKyselyDB<Entities, typeof STORE_OPTIONS>;

/**
 * The statements of one store, over the tables of `entities`, built with `kysely(em)` (which is
 * `em.getKysely<Tables>(STORE_OPTIONS)`; only the store's concrete Tables type resolves MikroORM's
 * return type, hence the store passes it). `statement(build)` returns a function
 * that runs the statement `build` makes from its values, on the EntityManager's connection (its
 * transaction's when it is in one), and returns the rows with the entities' property names and
 * value types. `build` runs once per shape of the values, with stand-ins for them: it must pass
 * values to Kysely as they are (no spreading, converting or branching on them; branching on
 * whether one is undefined is fine, that is part of the shape). A list of plain values binds as
 * one PostgreSQL array (`eb.fn.any(eb.val(list))`).
 */
export function storeStatements<Tables>(
  entities: readonly EntityName[],
  kysely: (em: EntityManager) => Kysely<Tables>,
) {
  let mapper: RowMapper | undefined;
  return function statement<Values, Row>(
    build: (db: Kysely<Tables>, values: Values) => Compilable<Row> | RawBuilder<Row>,
  ) {
    const templates = new Map<string, StatementTemplate>();
    const templateFor = (em: EntityManager, values: Values): StatementTemplate => {
      const shape = shapeOf(values);
      let template = templates.get(shape);
      if (template === undefined) {
        const db = kysely(em);
        const built = build(db, slotsFor(values));
        template = templateOf('isRawBuilder' in built ? built.compile(db) : built.compile());
        templates.set(shape, template);
      }
      return template;
    };
    const run = async (em: EntityManager, values: Values): Promise<Row[]> => {
      const template = templateFor(em, values);
      mapper ??= new RowMapper(em, entities);
      // Counted in `sql_queries_total` under the EntityManager's source, as `em.execute` is. The
      // EntityManager's own context: it is never a RequestContext's, and reads may run on the
      // global EntityManager (no unit of work, so no fork), which refuses to resolve one.
      const context = em.getLoggerContext({ disableContextResolution: true });
      em.config.getLogger().logQuery({ level: 'info', ...context, query: template.sql });
      const result = await em
        .getKysely()
        .executeQuery(CompiledQuery.raw(template.sql, bind(template, values)));
      // The rows are what the statement Kysely typed as Row selects, renamed and converted as the
      // MikroORM plugin would have done.
      return mapper.map(result.rows as Record<string, unknown>[]) as Row[];
    };
    /** The SQL text (`$1`, `$2` ... placeholders) and parameters `run` would send, e.g. to EXPLAIN. */
    const compiled = (em: EntityManager, values: Values): { sql: string; parameters: unknown[] } => {
      const template = templateFor(em, values);
      return { sql: template.sql, parameters: bind(template, values) };
    };
    return Object.assign(run, { compiled });
  };
}
