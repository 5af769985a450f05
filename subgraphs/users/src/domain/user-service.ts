// Accounts: registration, sign-in and the seeded administrator. Knows nothing of GraphQL.
// Every account created, and every change of its email, name or role, is announced as
// `users.evt.user_changed` in the same transaction (outbox), with a revision that grows by one
// each time: notifications keeps its copy of the users from these events.
import type { EntityManager } from '@mikro-orm/postgresql';
import { LockMode, UniqueConstraintViolationException } from '@mikro-orm/core';
import { ConflictError, UnauthenticatedError } from '../../../../shared/errors.ts';
import { enqueue, type OutgoingMessage } from '../../../../shared/messaging/outbox.ts';
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
  const passwordHash = await hashPassword(password);
  try {
    return await em.transactional(async (tx) => {
      const user = tx.create(User, { email, name, role: 'CUSTOMER', passwordHash });
      await tx.flush();
      await enqueue(tx, [userChanged(user)]);
      return user;
    });
  } catch (err) {
    if (err instanceof UniqueConstraintViolationException) {
      throw new ConflictError('An account with this email already exists', { field: 'input.email' });
    }
    throw err;
  }
}

/** The event for the user as it is now; `user.revision` must already count this change. */
function userChanged(user: User): OutgoingMessage<'users.evt.user_changed'> {
  return {
    subject: 'users.evt.user_changed',
    // One subject per user: the USERS stream keeps the latest event of each (shared/messaging/topology.ts),
    // so a consumer that starts late still learns every user.
    subjectSuffix: user.id,
    payload: {
      v: 1,
      userId: user.id,
      email: user.email,
      name: user.name,
      role: user.role,
      revision: user.revision,
    },
  };
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

/**
 * The administrator named by the configuration exists, is ADMIN, and has the configured password.
 * Creating it, or making an existing account ADMIN, is announced like any other change; a start
 * that finds it as configured changes nothing and announces nothing. Two instances starting at
 * once: the row lock orders them, and the one that loses the race to create it finds it.
 */
export async function seedAdministrator(
  em: EntityManager,
  rawEmail: string,
  password: string,
): Promise<User> {
  const email = normalizeEmail(rawEmail, 'ADMIN_EMAIL');
  validatePassword(password, 'ADMIN_PASSWORD');
  try {
    return await ensureAdministrator(em, email, password);
  } catch (err) {
    if (!(err instanceof UniqueConstraintViolationException)) throw err;
    return ensureAdministrator(em, email, password);
  }
}

function ensureAdministrator(em: EntityManager, email: string, password: string): Promise<User> {
  return em.transactional(async (tx) => {
    const existing = await tx.findOne(
      User,
      { email },
      { populate: ['passwordHash'], lockMode: LockMode.PESSIMISTIC_WRITE },
    );
    if (!existing) {
      const passwordHash = await hashPassword(password);
      const user = tx.create(User, { email, name: 'Administrator', role: 'ADMIN', passwordHash });
      await tx.flush();
      await enqueue(tx, [userChanged(user)]);
      return user;
    }
    if (existing.role !== 'ADMIN') {
      existing.role = 'ADMIN';
      existing.revision += 1;
      await enqueue(tx, [userChanged(existing)]);
    }
    if (!(await verifyPassword(password, existing.passwordHash)))
      existing.passwordHash = await hashPassword(password);
    await tx.flush();
    return existing;
  });
}
