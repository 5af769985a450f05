import { Migration } from '@mikro-orm/migrations';

/** Counts each product's falls below LOW_STOCK_THRESHOLD (see LowStockCrossings in stock.entity.ts). */
export class Migration20261130120000_low_stock_crossings extends Migration {
  override async up(): Promise<void> {
    this.addSql(`
      create table low_stock_crossings (
        product_id uuid primary key,
        crossings integer not null check (crossings > 0)
      )`);
  }

  override async down(): Promise<void> {
    this.addSql('drop table low_stock_crossings');
  }
}
