import { Migration20261122200000_init } from './Migration20261122200000_init.ts';
import { Migration20261130120000_low_stock_crossings } from './Migration20261130120000_low_stock_crossings.ts';

/** Applied in this order at start; add new ones at the end. */
export const migrations = [
  { name: 'Migration20261122200000_init', class: Migration20261122200000_init },
  { name: 'Migration20261130120000_low_stock_crossings', class: Migration20261130120000_low_stock_crossings },
];
