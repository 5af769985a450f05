// Thin: read arguments, call the domain, shape the answer.
import { isAdmin } from '../../../../shared/auth/policies.ts';
import type { ProductsContext } from '../context.ts';
import type { Product } from '../domain/product.entity.ts';
import {
  countProducts,
  createProduct,
  findProductPage,
  prepareProductQuery,
  updateProduct,
  type ProductFilter,
  type ProductInput,
  type ProductUpdate,
} from '../domain/catalogue.ts';
import { encodeCursor } from '../domain/validation.ts';

interface ProductsArgs {
  filter?: ProductFilter | null;
  first?: number | null;
  after?: string | null;
}

export const resolvers = {
  Query: {
    product: (_: unknown, args: { id: string }, ctx: ProductsContext) => ctx.products.load(args.id),
    products: async (_: unknown, args: ProductsArgs, ctx: ProductsContext) => {
      const query = prepareProductQuery({ ...args, includeInactive: isAdmin(ctx.identity) });
      const page = await findProductPage(ctx.em, query);
      const edges = page.products.map((node) => ({ cursor: encodeCursor(node), node }));
      return {
        edges,
        pageInfo: { hasNextPage: page.hasNextPage, endCursor: edges.at(-1)?.cursor ?? null },
        // Counted only when asked for.
        totalCount: () => countProducts(ctx.em, query),
      };
    },
  },
  Mutation: {
    createProduct: (_: unknown, args: { input: ProductInput }, ctx: ProductsContext) =>
      createProduct(ctx.em, args.input),
    updateProduct: (_: unknown, args: { id: string; input: ProductUpdate }, ctx: ProductsContext) =>
      updateProduct(ctx.em, args.id, args.input),
  },
  Product: {
    __resolveReference: (ref: { id: string }, ctx: ProductsContext) => ctx.products.load(ref.id),
    price: (product: Product) => ({ amountCents: product.priceCents, currency: product.currency }),
  },
};
