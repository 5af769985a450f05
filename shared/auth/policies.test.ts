import { describe, expect, it } from '@jest/globals';
import { isAdmin, isOwnerOrAdmin, isServiceCall, isSignedIn, rightsScope } from './policies.ts';
import type { Identity, Role } from './identity.ts';

const user = (userId: string, role: Role = 'CUSTOMER'): Identity => ({
  userId,
  role,
  token: 't',
  expiresAt: 0,
});

describe('isSignedIn', () => {
  it('passes any verified user and no anonymous caller', () => {
    expect(isSignedIn(user('u1'))).toBe(true);
    expect(isSignedIn(user('u1', 'ADMIN'))).toBe(true);
    expect(isSignedIn(null)).toBe(false);
  });
});

describe('isAdmin', () => {
  it('passes administrators only', () => {
    expect(isAdmin(user('u1', 'ADMIN'))).toBe(true);
    expect(isAdmin(user('u1'))).toBe(false);
    expect(isAdmin(null)).toBe(false);
  });
});

describe('isOwnerOrAdmin', () => {
  it('passes the owner and administrators', () => {
    expect(isOwnerOrAdmin(user('u1'), 'u1')).toBe(true);
    expect(isOwnerOrAdmin(user('u0', 'ADMIN'), 'u1')).toBe(true);
  });

  it('refuses another user and anonymous callers, even the id they would own', () => {
    expect(isOwnerOrAdmin(user('u2'), 'u1')).toBe(false);
    expect(isOwnerOrAdmin(null, 'u1')).toBe(false);
  });

  it('lets only administrators at a resource without an owner', () => {
    for (const none of [null, undefined]) {
      expect(isOwnerOrAdmin(user('u1'), none)).toBe(false);
      expect(isOwnerOrAdmin(user('u0', 'ADMIN'), none)).toBe(true);
    }
    // An empty id is compared as an id, never taken as "no owner" matching an empty user id.
    expect(isOwnerOrAdmin(user('u1'), '')).toBe(false);
  });
});

describe('isServiceCall', () => {
  const services = ['notifications'];

  it('passes a listed service calling on its own behalf', () => {
    expect(isServiceCall({ service: 'notifications' }, null, services)).toBe(true);
  });

  it('refuses other services, anonymous callers, and a service relaying a user', () => {
    expect(isServiceCall({ service: 'orders' }, null, services)).toBe(false);
    expect(isServiceCall(null, null, services)).toBe(false);
    expect(isServiceCall({ service: 'notifications' }, user('u1', 'ADMIN'), services)).toBe(false);
  });
});

describe('rightsScope', () => {
  it('puts every administrator in one scope and each other user in a scope of their own', () => {
    expect(rightsScope(user('a1', 'ADMIN'))).toBe(rightsScope(user('a2', 'ADMIN')));
    expect(rightsScope(user('u1', 'CUSTOMER'))).not.toBe(rightsScope(user('u2', 'CUSTOMER')));
    expect(rightsScope(user('u1', 'CUSTOMER'))).not.toBe(rightsScope(user('a1', 'ADMIN')));
    expect(rightsScope(user('u1', 'CUSTOMER'))).toBe(rightsScope(user('u1', 'CUSTOMER')));
  });
});
