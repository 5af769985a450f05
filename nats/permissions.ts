// What each NATS user may publish and subscribe to, for one namespace: the one source of every
// server configuration (nats/authorization.conf, which compose's server includes and
// `npm run nats:config` writes; the nats-server that `npm start` and the tests start).
//
// The rule: a service publishes only what it owns (its events, the commands its saga sends, the
// dead letters of its own consumers), pulls and acknowledges only its own consumers, and reads
// only its own inboxes; the gateway only listens to order status changes. So a service that is
// compromised, or anything else on the network, cannot forge another service's facts.
//
// JetStream's API: every service may look up and create any stream of the namespace (each one
// provisions them all at start, so start-up order does not matter, and a stream can only be
// created under its fixed name), but only the owner of a stream may update it; nobody but
// admin may delete or purge a stream, delete messages, read a stream's messages directly or
// create a consumer of another service. Being able to create a missing stream with a config of
// its choosing is left to every service: the stream's owner puts its config right at start.
import { contracts, type Subject } from '../shared/contracts/index.ts';
import {
  CONSUMERS,
  STREAMS,
  consumerName,
  qualify,
  streamName,
  type ConsumerName,
  type StreamName,
} from '../shared/messaging/topology.ts';
import {
  ADMIN_USER,
  NATS_USERS,
  inboxPrefix,
  passwordVariable,
  type NatsUser,
  type ServiceUser,
} from './credentials.ts';

/** The saga's orchestrator sends every command. */
const COMMAND_SENDER: ServiceUser = 'orders';

/**
 * Subjects published with a per-entity suffix (`orders.evt.status.<orderId>`,
 * `users.evt.user_changed.<userId>`), as contractSubjectOf reads them.
 */
export const SUFFIXED: ReadonlySet<Subject> = new Set<Subject>([
  'orders.evt.status',
  'users.evt.user_changed',
]);

/** Who publishes a contract subject: an event its owning service, a command the orchestrator. */
export function publisherOf(subject: Subject): ServiceUser {
  const [owner, kind] = subject.split('.') as [ServiceUser, string];
  return kind === 'cmd' ? COMMAND_SENDER : owner;
}

export interface Permissions {
  readonly publish: { readonly allow?: readonly string[]; readonly deny?: readonly string[] };
  readonly subscribe: { readonly allow: readonly string[] };
}

const ALL_STREAMS = Object.keys(STREAMS) as StreamName[];

function ownConsumers(user: ServiceUser): ConsumerName[] {
  return (Object.keys(CONSUMERS) as ConsumerName[]).filter((c) => CONSUMERS[c].service === user);
}

/** The contract subjects `user` publishes, as the server sees them. */
function publishedSubjects(namespace: string, user: ServiceUser): string[] {
  return (Object.keys(contracts) as Subject[])
    .filter((subject) => publisherOf(subject) === user)
    .map((subject) => qualify(namespace, SUFFIXED.has(subject) ? `${subject}.*` : subject));
}

/** The JetStream API calls a service that uses JetStream makes (see topology.ts, consumer.ts). */
function jetStreamApi(namespace: string, user: ServiceUser): string[] {
  const streams = ALL_STREAMS.map((s) => streamName(namespace, s));
  const owned = ALL_STREAMS.filter((s) => STREAMS[s].owner === user).map((s) => streamName(namespace, s));
  const consumers = ownConsumers(user).flatMap((c) => {
    const on = `${streamName(namespace, CONSUMERS[c].stream)}.${consumerName(namespace, c)}`;
    return [
      `$JS.API.CONSUMER.INFO.${on}`,
      // Servers from 2.9 take the name (and the filter) in the subject; older ones DURABLE.CREATE.
      `$JS.API.CONSUMER.CREATE.${on}`,
      `$JS.API.CONSUMER.CREATE.${on}.>`,
      `$JS.API.CONSUMER.DURABLE.CREATE.${on}`,
      `$JS.API.CONSUMER.MSG.NEXT.${on}`,
      // ack, nak, term of what it pulled
      `$JS.ACK.${on}.>`,
    ];
  });
  return [
    '$JS.API.INFO',
    ...streams.flatMap((s) => [`$JS.API.STREAM.INFO.${s}`, `$JS.API.STREAM.CREATE.${s}`]),
    ...owned.map((s) => `$JS.API.STREAM.UPDATE.${s}`),
    ...consumers,
  ];
}

/** Whether the service sends or receives messages through JetStream (the gateway does not). */
function usesJetStream(user: ServiceUser): boolean {
  return (
    ownConsumers(user).length > 0 ||
    ALL_STREAMS.some((s) => STREAMS[s].owner === user) ||
    (Object.keys(contracts) as Subject[]).some((s) => publisherOf(s) === user)
  );
}

/** What `user` may do on the server of `namespace`; undefined: everything (admin). */
export function permissionsFor(namespace: string, user: NatsUser): Permissions | undefined {
  if (user === ADMIN_USER) return undefined;
  const inboxes = `${inboxPrefix(user)}.>`;
  if (user === 'gateway') {
    // Live subscriptions: core NATS on the order status subjects; it publishes nothing.
    return {
      publish: { deny: ['>'] },
      subscribe: { allow: [inboxes, qualify(namespace, 'orders.evt.status.*')] },
    };
  }
  if (!usesJetStream(user)) return { publish: { deny: ['>'] }, subscribe: { allow: [inboxes] } };
  return {
    publish: {
      allow: [
        ...publishedSubjects(namespace, user),
        ...ownConsumers(user).map((c) => qualify(namespace, `dlq.${c}`)),
        ...jetStreamApi(namespace, user),
      ],
    },
    subscribe: { allow: [inboxes] },
  };
}

const list = (subjects: readonly string[]): string =>
  `[${subjects.map((s) => JSON.stringify(s)).join(', ')}]`;

function userBlock(namespace: string, user: NatsUser): string {
  const permissions = permissionsFor(namespace, user);
  const lines = [`    {`, `      user: ${user}`, `      password: $${passwordVariable(user)}`];
  if (permissions) {
    const { publish, subscribe } = permissions;
    lines.push(`      permissions: {`, `        publish: {`);
    if (publish.allow) lines.push(...publish.allow.map((s, i) => allowLine(s, i, publish.allow!.length)));
    if (publish.deny) lines.push(`          deny: ${list(publish.deny)}`);
    lines.push(`        }`, `        subscribe: { allow: ${list(subscribe.allow)} }`, `      }`);
  }
  lines.push(`    }`);
  return lines.join('\n');
}

/** One subject a line, so the file reads (and diffs) as a list. */
function allowLine(subject: string, index: number, count: number): string {
  const open = index === 0 ? '          allow: [\n' : '';
  const close = index === count - 1 ? '\n          ]' : ',';
  return `${open}            ${JSON.stringify(subject)}${close}`;
}

/**
 * The `authorization` block of a server for `namespace`: a user per process and admin, each
 * password read from its variable (credentials.ts passwordVariable), never written in a file.
 */
export function authorizationConfig(namespace: string): string {
  return [
    'authorization {',
    '  users = [',
    NATS_USERS.map((user) => userBlock(namespace, user)).join('\n'),
    '  ]',
    '}',
    '',
  ].join('\n');
}
