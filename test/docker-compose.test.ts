// docker-compose.yml checked against the code it runs: services, ports, entry files, the
// environment variables the code reads, health checks, start order and the NATS config.

import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from '@jest/globals';
import { parse } from 'yaml';
import {
  DEFAULT_PORTS,
  PROCESSES,
  REPO_ROOT,
  entryFile,
  withHeapLimit,
  type ProcessName,
} from '../scripts/lib/services.ts';
import { NATS_USERS, SERVICE_USERS, passwordVariable } from '../nats/credentials.ts';
import { codeReads } from './support/sources.ts';
import { authorizationFile } from '../scripts/nats-config.ts';

interface Service {
  image?: string;
  build?: unknown;
  command?: string[];
  environment?: Record<string, string>;
  ports?: string[];
  expose?: string[];
  volumes?: string[];
  healthcheck?: { test: string[] };
  depends_on?: Record<string, { condition: string }>;
  profiles?: string[];
}

const compose = parse(readFileSync(path.join(REPO_ROOT, 'docker-compose.yml'), 'utf8')) as {
  services: Record<string, Service>;
};
const services = compose.services;
const service = (name: string): Service => services[name]!;

/** Variables read by a library rather than by our code, with the package that reads them. */
const LIBRARY_VARIABLES: Record<string, string> = {
  APOLLO_TELEMETRY_DISABLED: '@apollo/gateway/dist/index.js',
};

/** Read by Node.js itself (the heap limit, checked below). */
const NODE_ITSELF = 'NODE_OPTIONS';

/** The container port a service listens on, from `ports` ("4000:4000") or `expose`. */
function containerPorts(s: Service): number[] {
  return [
    ...(s.ports ?? []).map((p) => Number(String(p).split(':').at(-1)!.split('/')[0])),
    ...(s.expose ?? []).map(Number),
  ];
}

describe('docker-compose.yml', () => {
  it('has PostgreSQL, NATS, Redis, Mailpit, the six subgraphs and the gateway (and profiles: test/observability.test.ts)', () => {
    const always = Object.keys(services).filter((name) => !services[name]!.profiles);
    expect(always.sort()).toEqual(['postgres', 'nats', 'redis', 'mailpit', ...PROCESSES].sort());
  });

  it('points the notifications subgraph at Mailpit, whose web inbox it publishes', () => {
    expect(service('notifications').environment?.SMTP_URL).toBe('${SMTP_URL:-smtp://mailpit:1025}');
    expect(service('mailpit').expose).toContain('1025');
    expect(service('mailpit').ports).toContain('8025:8025');
    expect(service('notifications').depends_on?.mailpit).toEqual({ condition: 'service_healthy' });
  });

  describe.each(PROCESSES)('%s', (name: ProcessName) => {
    const s = service(name);

    it('listens on its fixed default port, which it exposes or publishes', () => {
      expect(s.environment?.PORT).toBe(String(DEFAULT_PORTS[name]));
      expect(containerPorts(s)).toContain(DEFAULT_PORTS[name]);
    });

    it('runs its entry file, which exists', () => {
      expect(s.command).toEqual(['node', entryFile(name)]);
      expect(existsSync(path.join(REPO_ROOT, entryFile(name)))).toBe(true);
      expect(s.build).toBe('.');
    });

    it('sets only variables the code reads', () => {
      const unread = Object.keys(s.environment ?? {}).filter((variable) => {
        if (variable === NODE_ITSELF) return false;
        const library = LIBRARY_VARIABLES[variable];
        if (library)
          return !readFileSync(path.join(REPO_ROOT, 'node_modules', library), 'utf8').includes(variable);
        return !codeReads(variable);
      });
      expect(unread).toEqual([]);
    });

    it('reaches the other services by their compose names', () => {
      const env = s.environment ?? {};
      if (env.DATABASE_URL) expect(new URL(env.DATABASE_URL).host).toBe('postgres:5432');
      expect(env.NATS_URL).toBe('nats://nats:4222');
      if (name !== 'users') expect(env.USERS_JWKS_URL).toBe('http://users:4001/.well-known/jwks.json');
      // The gateway routes to every subgraph; orders reads products it has not seen yet.
      const reached =
        name === 'gateway' ? PROCESSES.filter((p) => p !== 'gateway') : name === 'orders' ? ['products'] : [];
      for (const sub of PROCESSES.filter((p) => p !== 'gateway')) {
        const value = env[`${sub.toUpperCase()}_URL`];
        if (reached.includes(sub) || value !== undefined) {
          expect(value).toBe(`http://${sub}:${DEFAULT_PORTS[sub]}/graphql`);
        }
      }
    });

    it('connects to NATS as its own user, with the password the server has for it', () => {
      const env = s.environment ?? {};
      const variable = passwordVariable(name);
      expect(env.NATS_USER).toBe(name);
      // Required (`:?`): production refuses to start without NATS credentials.
      expect(env.NATS_PASSWORD).toMatch(new RegExp(`^\\$\\{${variable}:\\?[^}]+\\}$`));
      expect(service('nats').environment?.[variable]).toBe(env.NATS_PASSWORD);
    });

    it('protects /metrics with a token the operator must set (production refuses to start without one)', () => {
      expect(s.environment?.METRICS_TOKEN).toMatch(/^\$\{METRICS_TOKEN:\?/);
    });

    it('runs with the heap limit npm start gives it', () => {
      expect(s.environment?.NODE_OPTIONS).toBe(withHeapLimit(undefined, name));
    });

    it('is healthy only when /health/ready answers', () => {
      expect(s.healthcheck?.test.join(' ')).toMatch(/\/health\/ready/);
    });

    it('starts after what it depends on is healthy', () => {
      const dependsOn = Object.entries(s.depends_on ?? {});
      expect(dependsOn.length).toBeGreaterThan(0);
      for (const [dependency, { condition }] of dependsOn) {
        expect(Object.keys(services)).toContain(dependency);
        expect({ dependency, condition }).toEqual({ dependency, condition: 'service_healthy' });
      }
      const needed = name === 'gateway' ? PROCESSES.filter((p) => p !== 'gateway') : ['postgres', 'nats'];
      expect(Object.keys(s.depends_on ?? {})).toEqual(expect.arrayContaining(needed));
    });
  });

  it('gives the gateway Redis for its shared limits, and only the gateway', () => {
    for (const name of PROCESSES) {
      expect({ name, url: service(name).environment?.REDIS_URL }).toEqual({
        name,
        url: name === 'gateway' ? 'redis://redis:6379' : undefined,
      });
    }
    expect(service('gateway').depends_on?.redis).toEqual({ condition: 'service_healthy' });
    const redis = service('redis');
    expect(redis.image).toMatch(/^redis:7\./);
    expect(redis.healthcheck?.test).toEqual(['CMD', 'redis-cli', 'ping']);
  });

  it('checks PostgreSQL with pg_isready', () => {
    expect(service('postgres').image).toMatch(/^postgres:18/);
    expect(service('postgres').healthcheck?.test.join(' ')).toMatch(/pg_isready/);
  });

  it('runs NATS >= 2.10 on the mounted config, which syncs every write and serves monitoring', () => {
    const nats = service('nats');
    expect(nats.image).toMatch(/^nats:2\.1[0-9]|^nats:2\.[2-9][0-9]/);
    expect(nats.command).toEqual(['-c', '/etc/nats/nats-server.conf']);
    const mount = nats.volumes?.find((v) => v.split(':')[1] === '/etc/nats/nats-server.conf');
    expect(mount).toBeDefined();
    const file = path.join(REPO_ROOT, mount!.split(':')[0]!);
    expect(existsSync(file)).toBe(true);
    const config = readFileSync(file, 'utf8');
    expect(config).toMatch(/^\s*sync_interval:\s*always\s*$/m);
    expect(config).toMatch(/^\s*http:\s*8222\s*$/m);
    expect(nats.healthcheck?.test.join(' ')).toContain('8222/healthz?js-enabled-only=true');
  });

  it('gives NATS a user per process, with the permissions nats/permissions.ts generates', () => {
    expect([...SERVICE_USERS].sort()).toEqual([...PROCESSES].sort());
    const nats = service('nats');
    const mount = nats.volumes?.find((v) => v.split(':')[1] === '/etc/nats/authorization.conf');
    expect(mount).toBeDefined();
    const file = path.join(REPO_ROOT, mount!.split(':')[0]!);
    expect(readFileSync(file, 'utf8')).toBe(authorizationFile(''));
    const config = readFileSync(path.join(REPO_ROOT, 'nats', 'nats-server.conf'), 'utf8');
    expect(config).toMatch(/^include "authorization\.conf"$/m);
    // Every user's password variable, and nothing else, reaches the server.
    expect(Object.keys(nats.environment ?? {}).sort()).toEqual(NATS_USERS.map(passwordVariable).sort());
    for (const value of Object.values(nats.environment ?? {}))
      expect(value).toMatch(/^\$\{NATS_PASSWORD_\w+:\?/);
  });
});
