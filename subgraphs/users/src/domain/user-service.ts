// Accounts: registration, sign-in and the seeded administrator. Knows nothing of GraphQL.
import type { EntityManager } from '@mikro-orm/postgresql';
import { UniqueConstraintViolationException } from '@mikro-orm/core';
import { ConflictError, UnauthenticatedError } from '../../../../shared/errors.ts';
import { User } from './user.entity.ts';
import { DUMMY_HASH, hashPassword, verifyPassword } from './passwords.ts';
import { normalizeEmail, validateName, validatePassword } from './validation.ts';

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

/** The same message and about the same time whether the email is unknown or the password wrong. */
export async function authenticate(em: EntityManager, rawEmail: string, password: string): Promise<User> {
  const email = rawEmail.trim().toLowerCase();
  const user = email.length <= 254 ? await em.findOne(User, { email }, { populate: ['passwordHash'] }) : null;
  const ok = await verifyPassword(password.slice(0, 256), user?.passwordHash ?? DUMMY_HASH);
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

export async function findUsersByIds(em: EntityManager, ids: readonly string[]): Promise<User[]> {
  return em.find(User, { id: { $in: [...ids] } });
}
