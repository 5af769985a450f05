// The product catalogue: create, change, look up and search products. Every change writes a
// `products.evt.product_changed` message to the outbox in the same transaction. Knows nothing
// of GraphQL.
import type { EntityManager } from '@mikro-orm/postgresql';
import { pageSize } from '../../../../shared/graphql/pagination.ts';
import { LockMode, UniqueConstraintViolationException } from '@mikro-orm/core';
import { BadUserInputError, ConflictError, NotFoundError } from '../../../../shared/errors.ts';
import { isUuid } from '../../../../shared/graphql/batch.ts';
import { enqueue } from '../../../../shared/messaging/outbox.ts';
import type { CommitPublisher } from '../../../../shared/messaging/commit-publisher.ts';
import { transactionalPublishing } from '../../../../shared/messaging/publish-after-commit.ts';
import { Product } from './product.entity.ts';
import {
  MAX_PRICE_CENTS,
  decodeCursor,
  optionalText,
  searchQuery,
  validateCurrency,
  validateName,
  validatePriceCents,
  validateSku,
  type Cursor,
} from './validation.ts';

export interface ProductInput {
  sku: string;
  name: string;
  description?: string | null;
  category?: string | null;
  priceCents: number;
  currency?: string | null;
}

/** Absent fields stay as they are; null clears `description` and `category`. */
export interface ProductUpdate {
  name?: string | null;
  description?: string | null;
  category?: string | null;
  priceCents?: number | null;
  active?: boolean | null;
}

export interface ProductFilter {
  search?: string | null;
  category?: string | null;
  minPriceCents?: number | null;
  maxPriceCents?: number | null;
}

/** A validated `products` request. */
export interface ProductQuery {
  readonly tsquery: string | null;
  readonly category: string | null;
  readonly minPriceCents: number | null;
  readonly maxPriceCents: number | null;
  readonly includeInactive: boolean;
  readonly first: number;
  readonly after: Cursor | null;
}

export interface ProductPage {
  readonly products: Product[];
  readonly hasNextPage: boolean;
}

const DESCRIPTION_MAX = 5000;
const CATEGORY_MAX = 100;

/** `publisher`: sends the product event right after the commit; without it, the outbox relay does. */
export async function createProduct(
  em: EntityManager,
  input: ProductInput,
  publisher?: CommitPublisher,
): Promise<Product> {
  const data = {
    sku: validateSku(input.sku, 'input.sku'),
    name: validateName(input.name, 'input.name'),
    description: optionalText(input.description, 'input.description', DESCRIPTION_MAX),
    category: optionalText(input.category, 'input.category', CATEGORY_MAX),
    priceCents: validatePriceCents(input.priceCents, 'input.priceCents'),
    currency: validateCurrency(input.currency ?? 'USD', 'input.currency'),
    active: true,
    version: 1,
  };
  try {
    return await transactionalPublishing(em, publisher, async (tx) => {
      const product = tx.create(Product, data);
      await tx.flush();
      await enqueue(tx, [productChanged(product)]);
      return product;
    });
  } catch (err) {
    if (err instanceof UniqueConstraintViolationException) {
      throw new ConflictError(`A product with SKU ${data.sku} already exists`, { field: 'input.sku' });
    }
    throw err;
  }
}

export async function updateProduct(
  em: EntityManager,
  id: string,
  input: ProductUpdate,
  publisher?: CommitPublisher,
): Promise<Product> {
  const changes: Partial<Product> = {};
  if (input.name !== undefined) {
    if (input.name === null) throw new BadUserInputError('input.name', 'The name cannot be removed');
    changes.name = validateName(input.name, 'input.name');
  }
  if (input.description !== undefined) {
    changes.description = optionalText(input.description, 'input.description', DESCRIPTION_MAX);
  }
  if (input.category !== undefined) {
    changes.category = optionalText(input.category, 'input.category', CATEGORY_MAX);
  }
  if (input.priceCents !== undefined) {
    if (input.priceCents === null)
      throw new BadUserInputError('input.priceCents', 'The price cannot be removed');
    changes.priceCents = validatePriceCents(input.priceCents, 'input.priceCents');
  }
  if (input.active !== undefined) {
    if (input.active === null) throw new BadUserInputError('input.active', 'active must be true or false');
    changes.active = input.active;
  }
  if (!isUuid(id)) throw new NotFoundError('Product', id);
  return transactionalPublishing(em, publisher, async (tx) => {
    // The row lock orders concurrent changes, so every one gets its own revision.
    const product = await tx.findOne(
      Product,
      { id: id.toLowerCase() },
      { lockMode: LockMode.PESSIMISTIC_WRITE },
    );
    if (!product) throw new NotFoundError('Product', id);
    tx.assign(product, { ...changes, version: product.version + 1, updatedAt: new Date() });
    await tx.flush();
    await enqueue(tx, [productChanged(product)]);
    return product;
  });
}

function productChanged(product: Product) {
  return {
    subject: 'products.evt.product_changed' as const,
    payload: {
      v: 1 as const,
      productId: product.id,
      sku: product.sku,
      name: product.name,
      priceCents: product.priceCents,
      currency: product.currency,
      active: product.active,
      revision: product.version,
    },
  };
}

export function prepareProductQuery(args: {
  filter?: ProductFilter | null;
  first?: number | null;
  after?: string | null;
  includeInactive: boolean;
}): ProductQuery {
  const filter = args.filter ?? {};
  const minPriceCents = optionalPrice(filter.minPriceCents, 'filter.minPriceCents');
  const maxPriceCents = optionalPrice(filter.maxPriceCents, 'filter.maxPriceCents');
  if (minPriceCents !== null && maxPriceCents !== null && minPriceCents > maxPriceCents) {
    throw new BadUserInputError('filter.maxPriceCents', 'maxPriceCents must not be below minPriceCents');
  }
  return {
    tsquery: searchQuery(filter.search, 'filter.search'),
    category: optionalText(filter.category, 'filter.category', CATEGORY_MAX),
    minPriceCents,
    maxPriceCents,
    includeInactive: args.includeInactive,
    first: pageSize(args.first, 'first'),
    after: args.after == null ? null : decodeCursor(args.after, 'after'),
  };
}

function optionalPrice(value: number | null | undefined, field: string): number | null {
  if (value == null) return null;
  if (!Number.isInteger(value) || value < 0 || value > MAX_PRICE_CENTS) {
    throw new BadUserInputError(field, `It must be a whole number of cents from 0 to ${MAX_PRICE_CENTS}`);
  }
  return value;
}
