// Accounts: registration, sign-in and the seeded administrator. Knows nothing of GraphQL.
import type { EntityManager } from '@mikro-orm/postgresql';
import { UniqueConstraintViolationException } from '@mikro-orm/core';
import { ConflictError, UnauthenticatedError } from '../../../../shared/errors.ts';
import { User } from './user.entity.ts';
import { DUMMY_HASH, hashPassword, verifyPassword } from './passwords.ts';
import {
  isValidEmail,
  MAX_PASSWORD_LENGTH,
  normalizeEmail,
  validateName,
  validatePassword,
} from './validation.ts';

export interface RegisterInput {
  email: string;
  password: string;
  name: string;
}

const LOGIN_FAILED = 'Invalid email or password';

export async function registerCustomer(em: EntityManager, input: RegisterInput): Promise<User> {
  const email = normalizeEmail(input.email, 'input.email');
  const name = validateName(input.name, 'input.name');
  const password = validatePassword(input.password, 'input.password');
  const user = em.create(User, { email, name, role: 'CUSTOMER', passwordHash: await hashPassword(password) });
  try {
    await em.flush();
  } catch (err) {
    if (err instanceof UniqueConstraintViolationException) {
      throw new ConflictError('An account with this email already exists', { field: 'input.email' });
    }
    throw err;
  }
  return user;
}

/**
 * The same answer, and the same work, whether the email is unknown, malformed or the password
 * wrong: one error (no validation error of its own, so a malformed email answers like a wrong
 * password) and one argon2 verification, against DUMMY_HASH when there is no account. DUMMY_HASH
 * is made by hashPassword, so it has the parameters, salt and tag sizes of every stored hash and
 * costs the same to verify. Only a malformed email skips the database lookup: no account can
 * have one (registration refuses them), so skipping it tells the caller nothing they did not
 * know, while an unknown and a known well-formed email both take the lookup and the hash.
 * The password is cut to the longest one registration accepts, so its length cannot make the
 * hash take longer (argon2 reads it once; its cost is set by the memory and passes).
 */
export async function authenticate(em: EntityManager, rawEmail: string, password: string): Promise<User> {
  const email = rawEmail.trim().toLowerCase();
  const user = isValidEmail(email) ? await em.findOne(User, { email }, { populate: ['passwordHash'] }) : null;
  const ok = await verifyPassword(password.slice(0, MAX_PASSWORD_LENGTH), user?.passwordHash ?? DUMMY_HASH);
  if (!user || !ok) throw new UnauthenticatedError(LOGIN_FAILED);
  return user;
}

/** The administrator named by the configuration exists, is ADMIN, and has the configured password. */
export async function seedAdministrator(
  em: EntityManager,
  rawEmail: string,
  password: string,
): Promise<User> {
  const email = normalizeEmail(rawEmail, 'ADMIN_EMAIL');
  validatePassword(password, 'ADMIN_PASSWORD');
  const existing = await em.findOne(User, { email }, { populate: ['passwordHash'] });
  if (!existing) {
    const passwordHash = await hashPassword(password);
    await em
      .createQueryBuilder(User)
      .insert({
        id: crypto.randomUUID(),
        email,
        name: 'Administrator',
        role: 'ADMIN',
        passwordHash,
        createdAt: new Date(),
      })
      .onConflict('email')
      .ignore()
      .execute();
    return em.findOneOrFail(User, { email });
  }
  existing.role = 'ADMIN';
  if (!(await verifyPassword(password, existing.passwordHash)))
    existing.passwordHash = await hashPassword(password);
  await em.flush();
  return existing;
}
