// Input rules for the catalogue. Pure functions: they throw BadUserInputError naming the field.
import { BadUserInputError } from '../../../../shared/errors.ts';
import { isUuid } from '../../../../shared/graphql/batch.ts';
import {
  decodeCursor as decodeCursorKey,
  encodeCursor as encodeCursorKey,
} from '../../../../shared/graphql/pagination.ts';

export const MAX_PRICE_CENTS = 100_000_000;

const SKU = /^[A-Z0-9][A-Z0-9._-]{1,63}$/;
const CURRENCY = /^[A-Z]{3}$/;

export function validateSku(raw: string, field: string): string {
  const sku = raw.trim().toUpperCase();
  if (!SKU.test(sku)) {
    throw new BadUserInputError(
      field,
      'The SKU must have 2 to 64 characters: letters, digits, ".", "_" or "-", starting with a letter or digit',
    );
  }
  return sku;
}

export function validateName(raw: string, field: string): string {
  const name = raw.trim();
  if (!name) throw new BadUserInputError(field, 'The name must not be empty');
  if (name.length > 200) throw new BadUserInputError(field, 'The name must have at most 200 characters');
  return name;
}

/** Optional text: blank becomes null. */
export function optionalText(raw: string | null | undefined, field: string, max: number): string | null {
  const text = raw?.trim();
  if (!text) return null;
  if (text.length > max) throw new BadUserInputError(field, `It must have at most ${max} characters`);
  return text;
}

export function validatePriceCents(value: number, field: string): number {
  if (!Number.isInteger(value) || value < 0 || value > MAX_PRICE_CENTS) {
    throw new BadUserInputError(
      field,
      `The price must be a whole number of cents from 0 to ${MAX_PRICE_CENTS}`,
    );
  }
  return value;
}

export function validateCurrency(value: string, field: string): string {
  if (!CURRENCY.test(value)) {
    throw new BadUserInputError(field, 'The currency must be an ISO-4217 code of three upper-case letters');
  }
  return value;
}

/**
 * The words of a search, as the search column splits them: runs of letters and digits,
 * lower-cased. Returns a tsquery text where every word must match and the last one also matches
 * as a prefix ("run sho" finds "Running shoes"), or null when there is nothing to search for.
 */
export function searchQuery(raw: string | null | undefined, field: string): string | null {
  if (raw == null || !raw.trim()) return null;
  if (raw.length > 200) throw new BadUserInputError(field, 'The search must have at most 200 characters');
  const words = raw
    .toLowerCase()
    .split(/[^\p{L}\p{N}]+/u)
    .filter(Boolean)
    .slice(0, 16);
  if (words.length === 0) throw new BadUserInputError(field, 'The search must contain a letter or digit');
  return words.map((word, i) => `'${word}'${i === words.length - 1 ? ':*' : ''}`).join(' & ');
}

/** Where a page ends: the (name, id) of its last product, opaque to clients. */
export interface Cursor {
  readonly name: string;
  readonly id: string;
}

export function encodeCursor(cursor: Cursor): string {
  return encodeCursorKey([cursor.name, cursor.id]);
}

export function decodeCursor(raw: string, field = 'after'): Cursor {
  const [name, id] = decodeCursorKey(raw, 2, field)!;
  if (typeof name !== 'string' || name.length > 200 || !isUuid(id)) {
    throw new BadUserInputError(field, 'Not a cursor from this list');
  }
  return { name, id: id.toLowerCase() };
}
