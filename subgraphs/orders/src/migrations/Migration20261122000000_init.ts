import { Migration } from '@mikro-orm/migrations';
import { MESSAGING_TABLES_SQL } from '../../../../shared/messaging/outbox.ts';

export class Migration20261122000000_init extends Migration {
  override async up(): Promise<void> {
    this.addSql(`
      create table orders (
        id uuid primary key,
        customer_id uuid not null,
        status text not null check (status in
          ('PENDING','INVENTORY_RESERVED','PAYMENT_AUTHORIZED','CONFIRMED','SHIPPED','DELIVERED','CANCELLED')),
        failure_reason text,
        total_cents integer not null check (total_cents >= 0),
        currency char(3) not null,
        payment_method text not null,
        idempotency_key text,
        status_sequence integer not null,
        step_deadline timestamptz,
        stock_committed boolean not null default false,
        payment_captured boolean not null default false,
        created_at timestamptz not null,
        updated_at timestamptz not null
      )`);
    // Same key, same customer: one order.
    this.addSql(
      'create unique index orders_idempotency on orders (customer_id, idempotency_key) where idempotency_key is not null',
    );
    // myOrders / User.orders: newest first per customer, keyset-paginated.
    this.addSql('create index orders_customer_recent on orders (customer_id, created_at desc, id desc)');
    // The timeout sweeper looks only at orders whose saga is still running.
    this.addSql(
      'create index orders_step_deadline on orders (step_deadline) where step_deadline is not null',
    );
    this.addSql(`
      create table order_items (
        order_id uuid not null references orders (id),
        position integer not null,
        product_id uuid not null,
        product_name text not null,
        quantity integer not null check (quantity > 0),
        unit_price_cents integer not null check (unit_price_cents >= 0),
        currency char(3) not null,
        primary key (order_id, position)
      )`);
    this.addSql(`
      create table order_status_changes (
        order_id uuid not null references orders (id),
        sequence integer not null,
        status text not null,
        reason text,
        at timestamptz not null,
        primary key (order_id, sequence)
      )`);
    this.addSql(`
      create table product_copies (
        product_id uuid primary key,
        sku text not null,
        name text not null,
        price_cents integer not null,
        currency char(3) not null,
        active boolean not null,
        revision integer not null
      )`);
    for (const sql of MESSAGING_TABLES_SQL) this.addSql(sql);
  }
}
