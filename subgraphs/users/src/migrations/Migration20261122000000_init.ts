import { Migration } from '@mikro-orm/migrations';

export class Migration20261122000000_init extends Migration {
  override async up(): Promise<void> {
    this.addSql(`
      create table users (
        id uuid primary key,
        email varchar(254) not null unique,
        name varchar(100) not null,
        role text not null check (role in ('CUSTOMER', 'ADMIN')),
        password_hash text not null,
        created_at timestamptz not null
      )`);
    this.addSql(`
      create table signing_keys (
        kid text primary key,
        private_jwk jsonb not null,
        public_jwk jsonb not null,
        created_at timestamptz not null
      )`);
  }

  override async down(): Promise<void> {
    this.addSql('drop table signing_keys');
    this.addSql('drop table users');
  }
}
