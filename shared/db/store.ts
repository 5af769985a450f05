// What every typed store (`subgraphs/*/src/domain/*.store.ts`) builds its SQL with: Kysely, as
// MikroORM hands it out, typed from the entity definitions (`defineEntity`) and speaking their
// property names. A column added to an entity (and its migration) is known here with its type;
// one renamed or removed is a type error in every statement that uses it.
import type { EntityManager, InferKyselyDB } from '@mikro-orm/postgresql';
import type {
  KyselyPlugin,
  PluginTransformQueryArgs,
  PluginTransformResultArgs,
  QueryResult,
  RootOperationNode,
  UnknownRow,
} from 'kysely';

/**
 * Queries and rows use the entities' property names (`customerId`, not `customer_id`), and values
 * are converted as the entity says (a timestamptz column reads as a Date, as the entity's does).
 * Used as `em.getKysely<Tables>(STORE_OPTIONS).withPlugin(new StoreStatementLogging(em))`, which
 * runs on the EntityManager's transaction when it is in one.
 */
export const STORE_OPTIONS = { columnNamingStrategy: 'property', convertValues: true } as const;

/** The tables of these entities, as Kysely sees them through STORE_OPTIONS. */
export type StoreTables<Entities extends { name: string }> = InferKyselyDB<Entities, typeof STORE_OPTIONS>;

/**
 * Reports each statement a store sends to MikroORM's query logger, as `em.execute` does, so that
 * it is counted (the `sql_queries_total` metric, under the EntityManager's source) and logged at
 * debug level. Kysely run through MikroORM reports nothing there by itself. The plugin sees the
 * statement before it is compiled: the log names its kind, not its text.
 */
export class StoreStatementLogging implements KyselyPlugin {
  readonly #em: EntityManager;

  constructor(em: EntityManager) {
    this.#em = em;
  }

  transformQuery({ node }: PluginTransformQueryArgs): RootOperationNode {
    this.#em.config
      .getLogger()
      .logQuery({ level: 'info', ...this.#em.getLoggerContext(), query: `(store) ${node.kind}` });
    return node;
  }

  transformResult({ result }: PluginTransformResultArgs): Promise<QueryResult<UnknownRow>> {
    return Promise.resolve(result);
  }
}
