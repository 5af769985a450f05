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
    createdAt: p.datetime().onCreate(() => new Date()),
  },
});
export type User = InferEntity<typeof User>;
