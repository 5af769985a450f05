// Thin: read arguments, call the domain, shape the answer.
import type { InventoryContext } from '../context.ts';
import { NO_STOCK, setStock, type StockLevel } from '../domain/stock.ts';

export const resolvers = {
  Mutation: {
    setStock: (
      _: unknown,
      args: { productId: string; warehouse?: string | null; available: number },
      ctx: InventoryContext,
    ) => setStock(ctx.em, args.productId, args.warehouse ?? 'main', args.available, ctx.lowStockThreshold),
  },
  Product: {
    // Inventory does not know which products exist: any id is a product, with 0/0 if unknown.
    __resolveReference: (ref: { id: string }) => ({ id: ref.id }),
    stock: async (product: { id: string }, _: unknown, ctx: InventoryContext): Promise<StockLevel> =>
      (await ctx.stock.load(product.id)) ?? NO_STOCK,
  },
};
