import { Migration } from '@mikro-orm/migrations';
import { MESSAGING_TABLES_SQL } from '../../../../shared/messaging/outbox.ts';

/**
 * users publishes `users.evt.user_changed` through an outbox like every other service, with a
 * revision per user that grows with each change. Accounts that exist already are published once
 * here, so a consumer's copy holds every user, not only those created from now on.
 */
export class Migration20261130120000_user_events extends Migration {
  override async up(): Promise<void> {
    for (const sql of MESSAGING_TABLES_SQL) this.addSql(sql);
    this.addSql('alter table users add column revision integer not null default 1');
    this.addSql(`
      insert into outbox (id, subject, payload)
      select gen_random_uuid(), 'users.evt.user_changed.' || id,
             jsonb_build_object('v', 1, 'userId', id, 'email', email, 'name', name, 'role', role,
                                'revision', revision)
      from users order by created_at`);
  }

  override async down(): Promise<void> {
    this.addSql('alter table users drop column revision');
    this.addSql('drop table inbox');
    this.addSql('drop table outbox');
  }
}
