// Input rules for accounts. Pure functions: they throw BadUserInputError naming the field.
import { BadUserInputError } from '../../../../shared/errors.ts';
import { contracts } from '../../../../shared/contracts/index.ts';

/** Longer addresses cannot be delivered to (RFC 5321's path limit). */
export const MAX_EMAIL_LENGTH = 254;
export const MAX_PASSWORD_LENGTH = 256;
// No spaces and no control characters (a NUL would reach PostgreSQL, which refuses it).
const EMAIL = /^[^\s@\p{Cc}]+@[^\s@\p{Cc}]+\.[^\s@\p{Cc}]+$/u;
const CONTROL = /\p{Cc}/u;

/** Whether an email (already trimmed and lower-cased) could belong to an account. */
export function isValidEmail(email: string): boolean {
  // Length first: it bounds the regular expression's work.
  return email.length <= MAX_EMAIL_LENGTH && EMAIL.test(email);
}

/**
 * An address the user events can carry (`users.evt.user_changed` in the contracts): a new account
 * must reach notifications, so registration refuses what its consumers would refuse (e.g. a
 * non-ASCII local part) rather than failing with an internal error. Sign-in keeps the looser
 * `isValidEmail`, so an account registered before this rule can still sign in.
 */
const deliverableEmail = contracts['users.evt.user_changed'].shape.email;

export function normalizeEmail(raw: string, field = 'email'): string {
  const email = raw.trim().toLowerCase();
  if (!isValidEmail(email) || !deliverableEmail.safeParse(email).success)
    throw new BadUserInputError(field, 'Enter a valid email address');
  return email;
}

export function validatePassword(password: string, field = 'password'): string {
  if (password.length < 8) throw new BadUserInputError(field, 'The password must have at least 8 characters');
  if (password.length > MAX_PASSWORD_LENGTH)
    throw new BadUserInputError(field, `The password must have at most ${MAX_PASSWORD_LENGTH} characters`);
  return password;
}

export function validateName(raw: string, field = 'name'): string {
  const name = raw.trim();
  if (!name) throw new BadUserInputError(field, 'The name must not be empty');
  if (name.length > 100) throw new BadUserInputError(field, 'The name must have at most 100 characters');
  if (CONTROL.test(name)) throw new BadUserInputError(field, 'The name must not contain control characters');
  return name;
}
