// Turning a requested basket into priced order lines. Pure: validation and integer arithmetic
// in minor units, so it is unit-tested without a database.
import { BadUserInputError } from '../../../../shared/errors.ts';
import { isUuid } from '../../../../shared/graphql/batch.ts';

export const MAX_LINES = 100;
export const MAX_QUANTITY = 10_000;
/** Money fields are GraphQL Int: 32-bit signed. */
export const MAX_TOTAL_CENTS = 2_147_483_647;

export interface RequestedLine {
  readonly productId: string;
  readonly quantity: number;
}

export interface CatalogEntry {
  readonly productId: string;
  readonly name: string;
  readonly priceCents: number;
  readonly currency: string;
  readonly active: boolean;
}

export interface PricedLine {
  readonly productId: string;
  readonly productName: string;
  readonly quantity: number;
  readonly unitPriceCents: number;
  readonly currency: string;
}

/** Checks shape and quantities, and adds up lines for the same product (first position kept). */
export function normalizeLines(lines: readonly RequestedLine[]): RequestedLine[] {
  if (lines.length === 0) throw new BadUserInputError('input.items', 'An order needs at least one item');
  if (lines.length > MAX_LINES)
    throw new BadUserInputError('input.items', `An order has at most ${MAX_LINES} lines`);
  const merged = new Map<string, number>();
  lines.forEach((line, i) => {
    if (!isUuid(line.productId))
      throw new BadUserInputError(`input.items[${i}].productId`, 'Not a product id');
    if (!Number.isInteger(line.quantity) || line.quantity < 1 || line.quantity > MAX_QUANTITY) {
      throw new BadUserInputError(
        `input.items[${i}].quantity`,
        `The quantity must be a whole number from 1 to ${MAX_QUANTITY}`,
      );
    }
    const id = line.productId.toLowerCase();
    const quantity = (merged.get(id) ?? 0) + line.quantity;
    if (quantity > MAX_QUANTITY) {
      throw new BadUserInputError(
        `input.items[${i}].quantity`,
        `At most ${MAX_QUANTITY} of one product per order`,
      );
    }
    merged.set(id, quantity);
  });
  return [...merged].map(([productId, quantity]) => ({ productId, quantity }));
}

/** Prices each line from the catalogue; every product must exist, be active, and share one currency. */
export function priceLines(
  lines: readonly RequestedLine[],
  catalog: ReadonlyMap<string, CatalogEntry>,
): { lines: PricedLine[]; totalCents: number; currency: string } {
  const priced = lines.map((line, i) => {
    const product = catalog.get(line.productId);
    if (!product)
      throw new BadUserInputError(`input.items[${i}].productId`, `Product ${line.productId} does not exist`);
    if (!product.active)
      throw new BadUserInputError(`input.items[${i}].productId`, `Product ${line.productId} is not for sale`);
    return {
      productId: line.productId,
      productName: product.name,
      quantity: line.quantity,
      unitPriceCents: product.priceCents,
      currency: product.currency,
    };
  });
  const currency = priced[0]!.currency;
  if (priced.some((line) => line.currency !== currency)) {
    throw new BadUserInputError('input.items', 'All items of an order must be priced in the same currency');
  }
  const totalCents = priced.reduce((sum, line) => sum + line.quantity * line.unitPriceCents, 0);
  if (totalCents > MAX_TOTAL_CENTS)
    throw new BadUserInputError('input.items', 'The order total is too large');
  return { lines: priced, totalCents, currency };
}

export function validatePaymentMethod(raw: string): string {
  const method = raw.trim();
  if (!/^[A-Za-z0-9_]{1,200}$/.test(method)) {
    throw new BadUserInputError(
      'input.paymentMethod',
      'The payment method must be a token such as pm_card_visa',
    );
  }
  return method;
}

export function validateIdempotencyKey(raw: string | null | undefined): string | null {
  if (raw === null || raw === undefined) return null;
  if (raw.length < 1 || raw.length > 255) {
    throw new BadUserInputError('input.idempotencyKey', 'The idempotency key must have 1 to 255 characters');
  }
  return raw;
}
