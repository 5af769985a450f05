import { defineEntity, p, type InferEntity } from '@mikro-orm/core';

/** Token signing keys. Kept in the database so every users instance signs with the same keys. */
export const SigningKey = defineEntity({
  name: 'SigningKey',
  tableName: 'signing_keys',
  properties: {
    kid: p.string().primary(),
    privateJwk: p.json<Record<string, unknown>>().hidden(),
    publicJwk: p.json<Record<string, unknown>>(),
    createdAt: p.datetime().onCreate(() => new Date()),
    /** From when it signs; published in the JWKS from its creation, so verifiers know it first. */
    activatesAt: p.datetime(),
  },
});
export type SigningKey = InferEntity<typeof SigningKey>;
