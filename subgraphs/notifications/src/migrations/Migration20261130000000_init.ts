import { Migration } from '@mikro-orm/migrations';
import { MESSAGING_TABLES_SQL } from '../../../../shared/messaging/outbox.ts';

export class Migration20261130000000_init extends Migration {
  override async up(): Promise<void> {
    // Copies of other services' facts, fed by their events (never read from their databases).
    this.addSql(`
      create table user_copies (
        user_id uuid primary key,
        email text not null,
        name text not null,
        role text not null check (role in ('CUSTOMER', 'ADMIN')),
        revision integer not null
      )`);
    this.addSql(`create index user_copies_admins on user_copies (user_id) where role = 'ADMIN'`);
    this.addSql(`
      create table product_names (
        product_id uuid primary key,
        name text not null,
        revision integer not null
      )`);
    // The order as placed (the PENDING event's summary): items and totals never change after.
    this.addSql(`
      create table placed_orders (
        order_id uuid primary key,
        customer_id uuid not null,
        amount_cents integer not null check (amount_cents >= 0),
        currency text not null check (currency ~ '^[A-Z]{3}$'),
        items jsonb not null
      )`);
    // Owned here: a user's choice, which may come before notifications knows the user.
    this.addSql(`
      create table notification_preferences (
        user_id uuid primary key,
        email_enabled boolean not null,
        updated_at timestamptz not null
      )`);
    this.addSql(`
      create table notifications (
        id uuid primary key,
        -- what happened, once: a second event about the same thing finds it and adds nothing
        dedupe_key text not null unique,
        user_id uuid not null,
        channel text not null check (channel in ('EMAIL')),
        template text not null,
        order_id uuid,
        product_id uuid,
        status text not null check (status in ('PENDING', 'SENT', 'FAILED', 'SKIPPED')),
        attempts integer not null default 0,
        recipient text not null,
        subject text not null,
        body_text text not null,
        body_html text not null,
        created_at timestamptz not null,
        next_attempt_at timestamptz not null,
        sent_at timestamptz,
        failure_reason text,
        check ((status = 'SENT') = (sent_at is not null))
      )`);
    this.addSql('create index notifications_user on notifications (user_id, created_at desc, id desc)');
    this.addSql("create index notifications_due on notifications (next_attempt_at) where status = 'PENDING'");
    for (const sql of MESSAGING_TABLES_SQL) this.addSql(sql);
  }

  override async down(): Promise<void> {
    for (const table of [
      'inbox',
      'outbox',
      'notifications',
      'notification_preferences',
      'placed_orders',
      'product_names',
      'user_copies',
    ]) {
      this.addSql(`drop table ${table}`);
    }
  }
}
