import { Migration } from '@mikro-orm/migrations';
import { MESSAGING_TABLES_SQL } from '../../../../shared/messaging/outbox.ts';

export class Migration20261122100000_init extends Migration {
  override async up(): Promise<void> {
    for (const sql of MESSAGING_TABLES_SQL) this.addSql(sql);
    this.addSql(`
      create table products (
        id uuid primary key,
        sku varchar(64) not null unique,
        name varchar(200) not null,
        description text,
        category varchar(100),
        price_cents integer not null check (price_cents between 0 and 100000000),
        currency char(3) not null check (currency ~ '^[A-Z]{3}$'),
        active boolean not null,
        version integer not null check (version > 0),
        created_at timestamptz not null,
        updated_at timestamptz not null
      )`);
    // Full-text search without an extension: every run of letters and digits is one word (so
    // "ABC-123" is "abc" and "123", the same split catalogue.ts applies to a search), lower-cased
    // by the 'simple' configuration (no stemming: prefix matching covers plurals).
    this.addSql(`
      alter table products add column search tsvector generated always as (
        to_tsvector('simple', regexp_replace(
          name || ' ' || sku || ' ' || coalesce(category, '') || ' ' || coalesce(description, ''),
          '[^[:alnum:]]+', ' ', 'g'))
      ) stored`);
    this.addSql('create index products_search on products using gin (search)');
    // Keyset pagination walks (name, id); category and price filters have indexes of their own.
    this.addSql('create index products_name_id on products (name, id)');
    this.addSql('create index products_category on products (category, name, id)');
    this.addSql('create index products_price on products (price_cents)');
  }

  override async down(): Promise<void> {
    this.addSql('drop table products');
    this.addSql('drop table inbox');
    this.addSql('drop table outbox');
  }
}
