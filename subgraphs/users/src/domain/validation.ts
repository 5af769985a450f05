// Input rules for accounts. Pure functions: they throw BadUserInputError naming the field.
import { BadUserInputError } from '../../../../shared/errors.ts';

const EMAIL = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;

export function normalizeEmail(raw: string, field = 'email'): string {
  const email = raw.trim().toLowerCase();
  if (email.length > 254 || !EMAIL.test(email))
    throw new BadUserInputError(field, 'Enter a valid email address');
  return email;
}

export function validatePassword(password: string, field = 'password'): string {
  if (password.length < 8) throw new BadUserInputError(field, 'The password must have at least 8 characters');
  if (password.length > 256)
    throw new BadUserInputError(field, 'The password must have at most 256 characters');
  return password;
}

export function validateName(raw: string, field = 'name'): string {
  const name = raw.trim();
  if (!name) throw new BadUserInputError(field, 'The name must not be empty');
  if (name.length > 100) throw new BadUserInputError(field, 'The name must have at most 100 characters');
  return name;
}
