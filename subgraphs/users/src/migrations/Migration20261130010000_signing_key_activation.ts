import { Migration } from '@mikro-orm/migrations';

/**
 * When each signing key starts signing. A rotated-in key is published (JWKS) before it signs,
 * so every verifier has it by then; keys from before this column signed from their creation.
 */
export class Migration20261130010000_signing_key_activation extends Migration {
  override async up(): Promise<void> {
    this.addSql('alter table signing_keys add column activates_at timestamptz');
    this.addSql('update signing_keys set activates_at = created_at');
    this.addSql('alter table signing_keys alter column activates_at set not null');
  }

  override async down(): Promise<void> {
    this.addSql('alter table signing_keys drop column activates_at');
  }
}
