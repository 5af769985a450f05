// `npm start`: everything on one machine with no set-up. Uses PostgreSQL and NATS at
// DATABASE_URL / NATS_URL, or starts them (embedded PostgreSQL, nats-server from PATH) when
// nothing answers; composes gateway/supergraph.graphql when it is missing or stale; starts the
// six subgraphs and the gateway; Ctrl-C, SIGTERM or SIGHUP (its terminal closed) stops all of
// it and exits 0. A nats-server started here has a user per process (nats/permissions.ts) with
// passwords made for the run.
// In development it then seeds the demo data (scripts/lib/demo-seed.ts; SEED_DEMO=false skips it).
// A process that exits on its own is restarted with growing delays until it crashes in a loop
// (SUPERVISOR_* variables, scripts/lib/supervisor-config.ts); each one's output also goes to
// <data dir>/logs/<process>.log, the file named when it is given up on.
//
//   npm start                         the fixed ports, 4000-4006
//   npm start -- --free-ports         any free ports (printed)
//   npm start -- --data-dir <dir>     where started servers keep data (default .data/)

import { chmod, mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { writeSupergraph } from './compose-supergraph.ts';
import { demoSeedingWanted, seedDemoData } from './lib/demo-seed.ts';
import { ensureInfrastructure, type Infrastructure } from './lib/infra.ts';
import { startSystem, type Env, type RunningSystem } from './lib/processes.ts';
import { readSupervisionSettings } from './lib/supervisor-config.ts';
import { generateServiceSecret } from '../shared/auth/service-identity.ts';
import { DEMO_CUSTOMER } from '../shared/demo.ts';
import {
  DEFAULT_DATA_DIR,
  DEFAULT_DATABASE_URL,
  DEFAULT_NATS_URL,
  PROCESSES,
  REPO_ROOT,
  SERVICE_SECRET_FILE,
  SUBGRAPHS,
  type ProcessName,
} from './lib/services.ts';
import {
  credentialEnv,
  passwordVariable,
  type NatsCredential,
  type NatsCredentials,
} from '../nats/credentials.ts';

const log = (line: string): void => console.log(`launcher | ${line}`);

function redact(url: string): string {
  const parsed = new URL(url);
  if (parsed.password) parsed.password = '***';
  return parsed.toString();
}

/**
 * Each process connects to NATS as its own user: to a nats-server started here with the
 * passwords of this run; to an external one with NATS_PASSWORD_<PROCESS> from this
 * environment when set (the variables compose's NATS reads), else as NATS_USER says, or anonymously.
 */
function natsEnv(credentials: NatsCredentials | undefined): Partial<Record<ProcessName, Env>> {
  const credentialOf = (name: ProcessName): NatsCredential | undefined => {
    if (credentials) return credentials[name];
    const password = process.env[passwordVariable(name)];
    return password ? { user: name, password } : undefined;
  };
  return Object.fromEntries(
    PROCESSES.flatMap((name) => {
      const credential = credentialOf(name);
      return credential ? [[name, credentialEnv(credential)]] : [];
    }),
  );
}

/**
 * Where the notifications subgraph's emails go: SMTP_URL when set, else `.eml` files under the
 * data directory (MAIL_DIR, unless given).
 */
function mailEnv(dataDir: string): Env {
  return process.env.SMTP_URL?.trim() ? {} : { MAIL_DIR: process.env.MAIL_DIR ?? path.join(dataDir, 'mail') };
}

function mergeProcessEnv(...layers: Partial<Record<ProcessName, Env>>[]): Partial<Record<ProcessName, Env>> {
  const merged: Partial<Record<ProcessName, Env>> = {};
  for (const layer of layers) {
    for (const [name, env] of Object.entries(layer) as [ProcessName, Env][]) {
      merged[name] = { ...merged[name], ...env };
    }
  }
  return merged;
}

/** Relative to the working directory when below it, else absolute. */
function shortPath(file: string): string {
  const relative = path.relative(process.cwd(), file);
  return relative && !relative.startsWith('..') && !path.isAbsolute(relative) ? relative : file;
}

function adminCredentials(): { email: string; password: string } {
  return {
    email: process.env.ADMIN_EMAIL ?? 'admin@example.com',
    password: process.env.ADMIN_PASSWORD ?? 'admin-password',
  };
}

/**
 * Seeds the demo data; true when it is there. A failure is reported and the system stays up:
 * it is as usable without the demo data as before.
 */
async function seedDemo(gatewayUrl: string): Promise<boolean> {
  try {
    const result = await seedDemoData({ gatewayUrl, admin: adminCredentials() });
    log(
      result.productsCreated > 0 || result.customerCreated
        ? `demo data: ${result.productsCreated} products created, customer ${result.customerCreated ? 'created' : 'already there'} (SEED_DEMO=false skips this)`
        : 'demo data already there',
    );
    return true;
  } catch (error) {
    log(`demo data not seeded: ${error instanceof Error ? error.message : String(error)}`);
    return false;
  }
}

function banner(
  system: RunningSystem,
  infra: Infrastructure,
  production: boolean,
  dataDir: string,
  demoSeeded: boolean,
): string {
  const logDir = path.join(dataDir, 'logs');
  const local = (url: string): string => url.replace('//127.0.0.1:', '//localhost:');
  const lines = [
    '',
    `Gateway        ${local(system.urls.gateway!)}   (open it in a browser for Apollo Sandbox)`,
    `Subscriptions  ${local(system.urls.gatewayWs!)}   (graphql-transport-ws)`,
    ...SUBGRAPHS.map((name) => `${`  ${name}`.padEnd(15)}${local(system.urls.subgraphs[name]!)}`),
    `Mail           ${process.env.SMTP_URL?.trim() ? redact(process.env.SMTP_URL) : `${shortPath(mailEnv(dataDir).MAIL_DIR!)}/<notification>.eml   (set SMTP_URL to send them)`}`,
    `PostgreSQL     ${redact(infra.databaseUrl)}${infra.started.postgres ? '   (embedded, started by npm start)' : ''}`,
    `NATS           ${infra.natsUrl}${infra.started.nats ? '   (nats-server, started by npm start: a user per process)' : ''}`,
    `Logs           ${shortPath(logDir)}/<process>.log   (a process that exits is restarted)`,
  ];
  if (!production) {
    const { email, password } = adminCredentials();
    lines.push(
      `Admin          ${email} / ${password}   (development credentials; set ADMIN_EMAIL / ADMIN_PASSWORD)`,
    );
    if (demoSeeded) {
      lines.push(
        `Customer       ${DEMO_CUSTOMER.email} / ${DEMO_CUSTOMER.password}   (demo data; npm run demo shows an order live; SEED_DEMO=false skips it)`,
      );
    }
    const nats = infra.natsCredentials?.admin;
    if (nats) {
      lines.push(
        `NATS admin     NATS_USER=${nats.user} NATS_PASSWORD=${nats.password}   (for npm run dlq; this run only)`,
      );
    }
  }
  lines.push('Ctrl-C stops everything.', '');
  return lines.join('\n');
}

/**
 * SERVICE_SECRET if set, else a random one for this run, written to <data dir>/service-secret
 * (readable by this user only) so that local tools such as `npm run check:compose` can call the
 * subgraphs directly.
 */
async function serviceSecretOfThisRun(dataDir: string): Promise<string> {
  const given = process.env.SERVICE_SECRET?.trim();
  if (given) return given;
  const secret = generateServiceSecret();
  await mkdir(dataDir, { recursive: true });
  const file = path.join(dataDir, SERVICE_SECRET_FILE);
  await writeFile(file, `${secret}\n`, { mode: 0o600 });
  await chmod(file, 0o600);
  return secret;
}

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      'free-ports': { type: 'boolean', default: false },
      'data-dir': { type: 'string' },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help) {
    console.log('usage: npm start [-- --free-ports] [--data-dir <dir>]');
    return 0;
  }
  const production = process.env.NODE_ENV === 'production';
  const dataDir = path.resolve(values['data-dir'] ?? DEFAULT_DATA_DIR);
  const logDir = path.join(dataDir, 'logs');

  // A signal during start-up is acted on as soon as the current step ends; a second one exits
  // at once (the `exit` hooks of infra.ts and processes.ts SIGKILL what is left).
  let stopRequested: (signal: NodeJS.Signals) => void = () => {};
  const stopSignal = new Promise<NodeJS.Signals>((resolve) => (stopRequested = resolve));
  let signalled: NodeJS.Signals | undefined;
  const onSignal = (signal: NodeJS.Signals): void => {
    if (signalled) {
      console.error(`launcher | ${signal} again: exiting without waiting`);
      process.exit(1);
    }
    signalled = signal;
    stopRequested(signal);
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  // The terminal closed: without a handler the launcher would die at once and leave every
  // process it started running, unsupervised, its ports taken.
  process.on('SIGHUP', onSignal);
  // With the terminal gone, writing to it fails (EIO; EPIPE when the reader of a pipe left),
  // which unhandled would end the launcher mid-stop and SIGKILL the processes it is draining.
  // Their output still reaches their log files; the launcher's own lines are lost.
  for (const stream of [process.stdout, process.stderr]) stream.on('error', () => {});

  let infra: Infrastructure | undefined;
  let system: RunningSystem | undefined;
  try {
    // Read before anything starts: a bad setting fails at once.
    const supervise = readSupervisionSettings(process.env);
    const seedDemoWanted = demoSeedingWanted(process.env);
    // Composition first: a broken schema fails before any server is started.
    const { path: file, changed } = await writeSupergraph();
    log(`${changed ? 'composed' : 'supergraph up to date:'} ${path.relative(REPO_ROOT, file)}`);
    infra = await ensureInfrastructure({
      databaseUrl: process.env.DATABASE_URL ?? DEFAULT_DATABASE_URL,
      natsUrl: process.env.NATS_URL ?? DEFAULT_NATS_URL,
      natsNamespace: process.env.NATS_NAMESPACE ?? '',
      dataDir,
      log,
    });
    if (!signalled) {
      const serviceSecret = await serviceSecretOfThisRun(dataDir);
      system = await startSystem({
        ports: values['free-ports'] ? 'free' : 'fixed',
        env: { DATABASE_URL: infra.databaseUrl, NATS_URL: infra.natsUrl, SERVICE_SECRET: serviceSecret },
        processEnv: mergeProcessEnv(natsEnv(infra.natsCredentials), { notifications: mailEnv(dataDir) }),
        output: 'prefix',
        supervise,
        logDir,
      });
      const demoSeeded = seedDemoWanted && (await seedDemo(system.urls.gateway!));
      console.log(banner(system, infra, production, dataDir, demoSeeded));
    }
    const signal = await stopSignal;
    log(`${signal}: stopping`);
    return 0;
  } catch (error) {
    console.error(`launcher | ${error instanceof Error ? error.message : String(error)}`);
    return 1;
  } finally {
    await system?.stop();
    await infra?.stop();
    if (system || infra) log('stopped');
  }
}

process.exitCode = await main();
