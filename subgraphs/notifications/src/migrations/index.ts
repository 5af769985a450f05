import { Migration20261130000000_init } from './Migration20261130000000_init.ts';

/** Applied in this order at start; add new ones at the end. */
export const migrations = [{ name: 'Migration20261130000000_init', class: Migration20261130000000_init }];
