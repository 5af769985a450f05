import { defineEntity, p, type InferEntity } from '@mikro-orm/core';

export const Product = defineEntity({
  name: 'Product',
  tableName: 'products',
  properties: {
    id: p
      .uuid()
      .primary()
      .onCreate(() => crypto.randomUUID()),
    /** Upper-cased before it is stored, so the unique index holds regardless of case. */
    sku: p.string().length(64).unique(),
    name: p.string().length(200),
    description: p.text().nullable(),
    category: p.string().length(100).nullable(),
    priceCents: p.integer(),
    currency: p.string().length(3),
    active: p.boolean(),
    /** Grows by one with every change; sent as the `revision` of product events. */
    version: p.integer(),
    createdAt: p.datetime().onCreate(() => new Date()),
    updatedAt: p.datetime().onCreate(() => new Date()),
    // The generated `search` tsvector column is not mapped: only the SQL of product.store.ts reads it.
  },
});
export type Product = InferEntity<typeof Product>;
