import { Migration20261122200000_init } from './Migration20261122200000_init.ts';

/** Applied in this order at start; add new ones at the end. */
export const migrations = [{ name: 'Migration20261122200000_init', class: Migration20261122200000_init }];
