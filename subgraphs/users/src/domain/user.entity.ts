import { defineEntity, p, type InferEntity } from '@mikro-orm/core';
import { ROLES } from '../../../../shared/auth/identity.ts';

export const User = defineEntity({
  name: 'User',
  tableName: 'users',
  properties: {
    id: p
      .uuid()
      .primary()
      .onCreate(() => crypto.randomUUID()),
    /** Stored lower-cased: the unique index then holds regardless of how it was typed. */
    email: p.string().length(254).unique(),
    name: p.string().length(100),
    role: p.enum([...ROLES]),
    passwordHash: p.string().hidden().lazy(),
    /** Grows by one with every change of email, name or role; sent as the `revision` of user events. */
    revision: p.integer().onCreate(() => 1),
    createdAt: p.datetime().onCreate(() => new Date()),
  },
});
export type User = InferEntity<typeof User>;
