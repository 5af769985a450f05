// Thin: read arguments, call the domain, shape the answer.
import { isAdmin } from '../../../../shared/auth/policies.ts';
import { createProduct, prepareProductQuery, updateProduct } from '../domain/catalogue.ts';
import { findProductPage } from '../domain/product.store.ts';
import { encodeCursor } from '../domain/validation.ts';
import type { Resolvers } from '../generated/graphql.ts';

export const resolvers: Resolvers = {
  Query: {
    product: (_, args, ctx) => ctx.products.load(args.id),
    products: async (_, args, ctx) => {
      const query = prepareProductQuery({ ...args, includeInactive: isAdmin(ctx.identity) });
      const page = await findProductPage(ctx.em, query);
      const edges = page.products.map((node) => ({ cursor: encodeCursor(node), node }));
      return {
        edges,
        pageInfo: { hasNextPage: page.hasNextPage, endCursor: edges.at(-1)?.cursor ?? null },
        // Counted only when asked for.
        totalCount: () => ctx.productCounts.of(query),
      };
    },
  },
  Mutation: {
    createProduct: async (_, args, ctx) => {
      const product = await createProduct(ctx.em, args.input, ctx.publisher);
      ctx.productCounts.forget();
      return product;
    },
    updateProduct: async (_, args, ctx) => {
      const product = await updateProduct(ctx.em, args.id, args.input, ctx.publisher);
      ctx.productCounts.forget();
      return product;
    },
  },
  Product: {
    __resolveReference: (ref, ctx) => ctx.products.load(ref.id),
    price: (product) => ({ amountCents: product.priceCents, currency: product.currency }),
  },
};
