// Thin: read arguments, call the domain, shape the answer.
import { NO_STOCK, setStock } from '../domain/stock.ts';
import type { Resolvers } from '../generated/graphql.ts';

export const resolvers: Resolvers = {
  Mutation: {
    setStock: (_, args, ctx) =>
      setStock(ctx.em, args.productId, args.warehouse ?? 'main', args.available, ctx.lowStockThreshold),
  },
  Product: {
    // Inventory does not know which products exist: any id is a product, with 0/0 if unknown.
    __resolveReference: (ref) => ref,
    stock: async (product, _, ctx) => (await ctx.stock.load(product.id)) ?? NO_STOCK,
  },
};
