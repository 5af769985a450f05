import { Migration20261122000000_init } from './Migration20261122000000_init.ts';
import { Migration20261130010000_signing_key_activation } from './Migration20261130010000_signing_key_activation.ts';
import { Migration20261130120000_user_events } from './Migration20261130120000_user_events.ts';

/** Applied in this order at start; add new ones at the end. */
export const migrations = [
  { name: 'Migration20261122000000_init', class: Migration20261122000000_init },
  {
    name: 'Migration20261130010000_signing_key_activation',
    class: Migration20261130010000_signing_key_activation,
  },
  { name: 'Migration20261130120000_user_events', class: Migration20261130120000_user_events },
];
