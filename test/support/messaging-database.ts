// A service database for tests of the messaging layer (outbox, inbox, dead letters): the
// messaging tables, plus a `markers (id int)` table that handlers may write to show what they
// did (MikroORM also wants at least one entity).
import { defineEntity, p } from '@mikro-orm/core';
import { Migration } from '@mikro-orm/migrations';
import { openDatabase, type DatabaseOptions, type MikroORM } from '../../shared/db/database.ts';
import { MESSAGING_TABLES_SQL } from '../../shared/messaging/outbox.ts';

const Marker = defineEntity({
  name: 'Marker',
  tableName: 'markers',
  properties: { id: p.integer().primary() },
});

class Init extends Migration {
  override async up(): Promise<void> {
    this.addSql('create table markers (id int primary key)');
    for (const sql of MESSAGING_TABLES_SQL) this.addSql(sql);
  }
}

/** Creates (or reuses) the database and migrates it, with `laterMigrations` after its own. */
export function openMessagingDatabase(
  options: Omit<DatabaseOptions, 'entities' | 'migrations'> & {
    readonly laterMigrations?: DatabaseOptions['migrations'];
  },
): Promise<MikroORM> {
  const { laterMigrations = [], ...rest } = options;
  return openDatabase({
    ...rest,
    entities: [Marker],
    migrations: [{ name: 'Init', class: Init }, ...laterMigrations],
  });
}
