import { describe, expect, it } from '@jest/globals';
import { contracts, type Subject } from '../shared/contracts/index.ts';
import { CONSUMERS, STREAMS } from '../shared/messaging/topology.ts';
import {
  NATS_USERS,
  SERVER_PASSWORD_PATTERN,
  SERVICE_USERS,
  generateCredentials,
  type ServiceUser,
} from './credentials.ts';
import { SUFFIXED, authorizationConfig, permissionsFor, publisherOf } from './permissions.ts';

const SUBJECTS = Object.keys(contracts) as Subject[];
const allowed = (namespace: string, user: ServiceUser): string[] => [
  ...(permissionsFor(namespace, user)?.publish.allow ?? []),
];

describe('who publishes what', () => {
  it('gives every contract subject one publisher among the services: events their owner, commands orders', () => {
    for (const subject of SUBJECTS) {
      const publisher = publisherOf(subject);
      expect(SERVICE_USERS).toContain(publisher);
      expect(publisher).toBe(subject.includes('.cmd.') ? 'orders' : subject.split('.')[0]);
    }
  });

  it.each(['', 't_ns'])(
    'lets each service publish exactly its own subjects (namespace "%s")',
    (namespace) => {
      const q = (s: string) => (namespace ? `${namespace}.${s}` : s);
      for (const user of SERVICE_USERS) {
        const allow = allowed(namespace, user);
        for (const subject of SUBJECTS) {
          const own = publisherOf(subject) === user;
          const forms = SUFFIXED.has(subject) ? [q(`${subject}.*`)] : [q(subject)];
          for (const form of forms)
            expect({ user, form, allowed: allow.includes(form) }).toEqual({ user, form, allowed: own });
        }
        // Nothing else but its own dead letters and JetStream's API on its own streams and consumers.
        const rest = allow.filter((s) => !SUBJECTS.some((c) => s === q(c) || s === q(`${c}.*`)));
        for (const subject of rest) expect(subject).toMatch(new RegExp(`^(${q('dlq')}\\.${user}-|\\$JS\\.)`));
        expect(allow.some((s) => s === '>' || (s.endsWith('.>') && !s.startsWith('$JS.')))).toBe(false);
      }
    },
  );

  it('lets nobody but admin delete, purge or read streams directly', () => {
    for (const user of SERVICE_USERS) {
      for (const subject of allowed('t_ns', user)) {
        expect(subject).not.toMatch(/DELETE|PURGE|MSG\.GET|DIRECT|SNAPSHOT|RESTORE|LEADER|REMOVE/);
      }
    }
    expect(permissionsFor('t_ns', 'admin')).toBeUndefined();
  });

  it('lets only the owner of a stream update it, and a consumer only be pulled by the service that runs it', () => {
    for (const user of SERVICE_USERS) {
      const allow = allowed('t_ns', user);
      for (const [stream, { owner }] of Object.entries(STREAMS)) {
        expect(allow.includes(`$JS.API.STREAM.UPDATE.t_ns_${stream}`)).toBe(owner === user);
      }
      for (const [consumer, { stream, service }] of Object.entries(CONSUMERS)) {
        const next = `$JS.API.CONSUMER.MSG.NEXT.t_ns_${stream}.t_ns_${consumer}`;
        expect(allow.includes(next)).toBe(service === user);
      }
    }
  });

  it('lets the gateway publish nothing and listen to order status changes', () => {
    expect(permissionsFor('t_ns', 'gateway')!.publish).toEqual({ deny: ['>'] });
    expect(permissionsFor('t_ns', 'gateway')!.subscribe.allow).toEqual([
      '_INBOX_gateway.>',
      't_ns.orders.evt.status.*',
    ]);
  });

  it('lets users publish its events, one subject per user, and keep its own stream current', () => {
    const allow = allowed('t_ns', 'users');
    expect(allow).toContain('t_ns.users.evt.user_changed.*');
    expect(allow).not.toContain('t_ns.users.evt.user_changed');
    expect(allow).toContain('$JS.API.STREAM.UPDATE.t_ns_USERS');
  });

  it('lets every service read only its own inboxes', () => {
    for (const user of SERVICE_USERS) {
      expect(permissionsFor('', user)!.subscribe.allow).toContain(`_INBOX_${user}.>`);
      expect(permissionsFor('', user)!.subscribe.allow.filter((s) => s.startsWith('_INBOX'))).toEqual([
        `_INBOX_${user}.>`,
      ]);
    }
  });
});

describe('the server configuration', () => {
  it('names every user, each password by its variable, never a value', () => {
    const config = authorizationConfig('');
    for (const user of NATS_USERS) {
      expect(config).toContain(`user: ${user}\n      password: $NATS_PASSWORD_${user.toUpperCase()}\n`);
    }
    expect(config.match(/password:/g)).toHaveLength(NATS_USERS.length);
  });

  it('generates passwords the server reads as plain strings from a variable', () => {
    const credentials = generateCredentials();
    for (const user of NATS_USERS) {
      expect(credentials[user].user).toBe(user);
      expect(credentials[user].password).toMatch(SERVER_PASSWORD_PATTERN);
    }
    expect(generateCredentials().orders.password).not.toBe(credentials.orders.password);
  });
});
