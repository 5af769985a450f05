import { Migration } from '@mikro-orm/migrations';
import { MESSAGING_TABLES_SQL } from '../../../../shared/messaging/outbox.ts';

export class Migration20261122200000_init extends Migration {
  override async up(): Promise<void> {
    for (const sql of MESSAGING_TABLES_SQL) this.addSql(sql);
    this.addSql(`
      create table stock (
        product_id uuid not null,
        warehouse varchar(40) not null,
        available integer not null default 0,
        reserved integer not null default 0,
        sold integer not null default 0,
        version integer not null default 1,
        primary key (product_id, warehouse),
        constraint stock_never_negative check (available >= 0 and reserved >= 0 and sold >= 0)
      )`);
    this.addSql(`
      create table reservations (
        order_id uuid primary key,
        status text not null
          check (status in ('RESERVED', 'RELEASED', 'COMMITTED', 'RESTOCKED', 'REJECTED')),
        reason text,
        created_at timestamptz not null default now(),
        updated_at timestamptz not null default now()
      )`);
    this.addSql(`
      create table reservation_lines (
        order_id uuid not null references reservations (order_id),
        product_id uuid not null,
        warehouse varchar(40) not null,
        quantity integer not null check (quantity > 0),
        primary key (order_id, product_id, warehouse),
        foreign key (product_id, warehouse) references stock (product_id, warehouse)
      )`);
    this.addSql('create index reservation_lines_stock on reservation_lines (product_id, warehouse)');
  }

  override async down(): Promise<void> {
    this.addSql('drop table reservation_lines');
    this.addSql('drop table reservations');
    this.addSql('drop table stock');
    this.addSql('drop table inbox');
    this.addSql('drop table outbox');
  }
}
