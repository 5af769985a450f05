// k8s/ checked against the code it runs, as test/docker-compose.test.ts checks docker-compose.yml:
// per process a Deployment (image, entry file, port, probes on the paths the code serves, the
// variables the code reads, heap limits), a Service, a PodDisruptionBudget and an autoscaler;
// NATS as a 3-node JetStream cluster on the same permissions; the Secrets the overlay must make.
// With kubectl installed (KUBECTL names another binary, e.g. Debian's kubectl 1.20), the local
// overlay is rendered and every reference in the output checked.

import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from '@jest/globals';
import { parse, parseAllDocuments } from 'yaml';
import {
  DEFAULT_PORTS,
  HEAP_LIMIT_MIB,
  PROCESSES,
  REPO_ROOT,
  SUBGRAPHS,
  SUBGRAPH_URL_ENV,
  entryFile,
  withHeapLimit,
  type ProcessName,
} from '../scripts/lib/services.ts';
import { NATS_USERS, passwordVariable } from '../nats/credentials.ts';
import { authorizationFile } from '../scripts/nats-config.ts';
import { codeReads, codeServes } from './support/sources.ts';
import { STOP_MS } from '../shared/process.ts';

type Manifest = {
  kind: string;
  metadata: { name: string; labels?: Record<string, string> };
  spec?: Record<string, unknown>;
  data?: Record<string, string>;
};
interface EnvVar {
  name: string;
  value?: string;
  valueFrom?: {
    secretKeyRef?: { name: string; key: string };
    fieldRef?: { fieldPath: string };
  };
}
interface Probe {
  httpGet?: { path: string; port: string | number };
  failureThreshold?: number;
  periodSeconds?: number;
}
interface Container {
  name: string;
  image: string;
  command?: string[];
  args?: string[];
  ports?: { name: string; containerPort: number }[];
  env?: EnvVar[];
  envFrom?: { configMapRef?: { name: string }; secretRef?: { name: string } }[];
  startupProbe?: Probe;
  livenessProbe?: Probe;
  readinessProbe?: Probe;
  resources?: { requests?: Record<string, string>; limits?: Record<string, string> };
  volumeMounts?: { name: string; mountPath: string }[];
  lifecycle?: { preStop?: { exec?: { command: string[] } } };
}
interface PodTemplate {
  metadata: { labels: Record<string, string> };
  spec: {
    containers: Container[];
    volumes?: { name: string; configMap?: { name: string } }[];
    terminationGracePeriodSeconds?: number;
  };
}
interface Generator {
  name: string;
  literals?: string[];
  files?: string[];
}
interface Kustomization {
  commonLabels?: Record<string, string>;
  resources?: string[];
  bases?: string[];
  namespace?: string;
  images?: { name: string; newTag?: string }[];
  configMapGenerator?: Generator[];
  secretGenerator?: Generator[];
}

const K8S = path.join(REPO_ROOT, 'k8s');
const BASE = path.join(K8S, 'base');
const LOCAL = path.join(K8S, 'overlays', 'local');

const readYaml = <T>(file: string): T => parse(readFileSync(file, 'utf8')) as T;
const base = readYaml<Kustomization>(path.join(BASE, 'kustomization.yaml'));
const local = readYaml<Kustomization>(path.join(LOCAL, 'kustomization.yaml'));

function manifestsIn(dir: string, files: readonly string[]): Manifest[] {
  return files.flatMap((file) =>
    parseAllDocuments(readFileSync(path.join(dir, file), 'utf8')).map((doc) => doc.toJS() as Manifest),
  );
}
const baseManifests = manifestsIn(BASE, base.resources ?? []);

function find(manifests: readonly Manifest[], kind: string, name: string): Manifest {
  const found = manifests.find((m) => m.kind === kind && m.metadata.name === name);
  if (!found) throw new Error(`no ${kind} ${name}`);
  return found;
}
const template = (m: Manifest) => (m.spec as { template: PodTemplate }).template;
const container = (m: Manifest, name: string): Container => {
  const found = template(m).spec.containers.find((c) => c.name === name);
  if (!found) throw new Error(`no container ${name} in ${m.kind} ${m.metadata.name}`);
  return found;
};

/** `KEY=value` literals of a generator, as a record. */
function literals(generator: Generator | undefined): Record<string, string> {
  return Object.fromEntries(
    (generator?.literals ?? []).map((line) => [
      line.slice(0, line.indexOf('=')),
      line.slice(line.indexOf('=') + 1),
    ]),
  );
}
const generator = (list: Generator[] | undefined, name: string) => list?.find((g) => g.name === name);
const commonEnv = literals(generator(base.configMapGenerator, 'common-env'));
/** The Secrets the base refers to, by name, with their keys, as the local overlay makes them. */
const localSecrets = Object.fromEntries(
  (local.secretGenerator ?? []).map((g) => [g.name, literals(g)]),
) as Record<string, Record<string, string>>;

/**
 * Every variable a container gets, with where from: its value, `secret:<name>` (all of a
 * Secret's keys), `secret:<name>/<key>`, `field:<path>`; the common ConfigMap's values as they are.
 */
function environment(c: Container): Record<string, string> {
  const env: Record<string, string> = {};
  for (const from of c.envFrom ?? []) {
    if (from.configMapRef?.name === 'common-env') Object.assign(env, commonEnv);
    const secret = from.secretRef?.name;
    if (secret) for (const key of Object.keys(localSecrets[secret] ?? {})) env[key] = `secret:${secret}`;
  }
  for (const v of c.env ?? []) {
    const ref = v.valueFrom?.secretKeyRef;
    if (ref) env[v.name] = `secret:${ref.name}/${ref.key}`;
    else if (v.valueFrom?.fieldRef) env[v.name] = `field:${v.valueFrom.fieldRef.fieldPath}`;
    else env[v.name] = v.value ?? '';
  }
  return env;
}

/** What a container refers to that the local overlay (or the base) does not make. */
function unresolved(c: Container): string[] {
  const missing: string[] = [];
  for (const from of c.envFrom ?? []) {
    if (from.configMapRef && from.configMapRef.name !== 'common-env') missing.push(from.configMapRef.name);
    if (from.secretRef && !localSecrets[from.secretRef.name]) missing.push(from.secretRef.name);
  }
  for (const v of c.env ?? []) {
    const ref = v.valueFrom?.secretKeyRef;
    if (ref && localSecrets[ref.name]?.[ref.key] === undefined) missing.push(`${ref.name}/${ref.key}`);
  }
  return missing;
}

/** A quantity such as 768Mi or 2Gi, in MiB. */
function mebibytes(quantity: string): number {
  const match = /^(\d+)(Mi|Gi)$/.exec(quantity);
  if (!match) throw new Error(`unexpected quantity ${quantity}`);
  return Number(match[1]) * (match[2] === 'Gi' ? 1024 : 1);
}

const compose = readYaml<{
  services: Record<string, { image?: string; environment?: Record<string, string> }>;
}>(path.join(REPO_ROOT, 'docker-compose.yml')).services;

describe('k8s/base', () => {
  it('lists every manifest file it holds, and each exists', () => {
    const held = readdirSync(BASE, { recursive: true })
      .map(String)
      .filter((f) => /\.yaml$/.test(f) && f !== 'kustomization.yaml');
    expect([...(base.resources ?? [])].sort()).toEqual(held.sort());
  });

  describe.each(PROCESSES)('%s', (name: ProcessName) => {
    const deployment = find(baseManifests, 'Deployment', name);
    const pod = template(deployment);
    const c = container(deployment, name);
    const env = environment(c);
    const port = DEFAULT_PORTS[name];

    it('runs its entry file from the image docker-compose.yml builds', () => {
      expect(c.command).toEqual(['node', entryFile(name)]);
      expect(existsSync(path.join(REPO_ROOT, entryFile(name)))).toBe(true);
      const image = local.images?.find((i) => i.name === c.image);
      expect(`${c.image}:${image?.newTag}`).toBe(compose[name]?.image);
    });

    it('listens on its fixed port, named http, which its Service serves', () => {
      expect(env.PORT).toBe(String(port));
      expect(c.ports).toEqual([{ name: 'http', containerPort: port }]);
      const service = find(baseManifests, 'Service', name).spec as {
        selector: Record<string, string>;
        ports: { port: number; targetPort: string }[];
      };
      expect(service.ports).toEqual([{ name: 'http', port, targetPort: 'http' }]);
      expect(pod.metadata.labels).toMatchObject(service.selector);
    });

    it('is probed on the health paths the code serves', () => {
      expect(c.readinessProbe?.httpGet).toEqual({ path: '/health/ready', port: 'http' });
      expect(c.livenessProbe?.httpGet).toEqual({ path: '/health/live', port: 'http' });
      expect(c.startupProbe?.httpGet).toEqual({ path: '/health/live', port: 'http' });
      for (const route of ['/health/ready', '/health/live']) expect(codeServes(route)).toBe(true);
      // Start-up migrates first: the liveness probe waits behind a generous startup probe.
      const startup = c.startupProbe!;
      expect(startup.failureThreshold! * startup.periodSeconds!).toBeGreaterThanOrEqual(60);
    });

    it('takes its variables from a ConfigMap and Secrets that are made, by keys they hold', () => {
      expect(unresolved(c)).toEqual([]);
    });

    it('has time to leave the Service and drain before it is killed', () => {
      const preStop = c.lifecycle?.preStop?.exec?.command ?? [];
      expect(preStop[0]).toBe('sleep');
      const graceSeconds = pod.spec.terminationGracePeriodSeconds ?? 30;
      expect(graceSeconds).toBeGreaterThan(Number(preStop[1]) + STOP_MS / 1000);
    });

    it('sets only variables the code reads (NODE_OPTIONS: Node itself)', () => {
      const unread = Object.keys(env).filter((v) => v !== 'NODE_OPTIONS' && !codeReads(v));
      expect(unread).toEqual([]);
    });

    it('sets every variable docker-compose.yml gives it (but those off unless the operator sets them)', () => {
      // `${NAME:-}`: empty, so off, unless set (OTEL_EXPORTER_OTLP_ENDPOINT: add it to common-env).
      const composed = Object.entries(compose[name]?.environment ?? {})
        .filter(([, value]) => !/^\$\{\w+:-\}$/.test(value))
        .map(([variable]) => variable);
      expect(composed.filter((v) => !(v in env))).toEqual([]);
    });

    it('runs in production with its secrets from Secrets, never from values in the manifest', () => {
      expect(env.NODE_ENV).toBe('production');
      for (const secret of ['SERVICE_SECRET', 'METRICS_TOKEN', 'NATS_PASSWORD'])
        expect(env[secret]).toMatch(/^secret:/);
      if (name === 'users') {
        expect(env.ADMIN_EMAIL).toBe('secret:admin/ADMIN_EMAIL');
        expect(env.ADMIN_PASSWORD).toBe('secret:admin/ADMIN_PASSWORD');
      }
      // PostgreSQL is external: its URL is a Secret's.
      if (name === 'gateway') expect(env.DATABASE_URL).toBeUndefined();
      else expect(env.DATABASE_URL).toBe('secret:database');
    });

    it('connects to the NATS cluster as its own user, with the password the server has for it', () => {
      expect(env.NATS_USER).toBe(name);
      expect(env.NATS_PASSWORD).toBe(`secret:nats-passwords/${passwordVariable(name)}`);
      expect(env.NATS_URL).toBe('nats://nats:4222');
      expect(env.NATS_REPLICAS).toBe('3');
    });

    it('reaches the other processes by their Services', () => {
      expect(env.USERS_JWKS_URL).toBe(`http://users:${DEFAULT_PORTS.users}/.well-known/jwks.json`);
      expect(codeServes('/.well-known/jwks.json')).toBe(true);
      const reached = name === 'gateway' ? SUBGRAPHS : name === 'orders' ? (['products'] as const) : [];
      for (const sub of reached) {
        expect(env[SUBGRAPH_URL_ENV[sub]]).toBe(`http://${sub}:${DEFAULT_PORTS[sub]}/graphql`);
        find(baseManifests, 'Service', sub);
      }
    });

    it('runs with the heap limit npm start gives it, within a memory limit above it', () => {
      expect(env.NODE_OPTIONS).toBe(withHeapLimit(undefined, name));
      const limit = mebibytes(c.resources?.limits?.memory ?? '0Mi');
      expect(limit).toBeGreaterThan(HEAP_LIMIT_MIB[name] * 1.25);
      expect(c.resources?.requests?.cpu).toBeDefined();
    });

    it('keeps an instance through disruptions and scales on CPU from two', () => {
      const pdb = find(baseManifests, 'PodDisruptionBudget', name).spec as {
        minAvailable: number;
        selector: { matchLabels: Record<string, string> };
      };
      expect(pdb.minAvailable).toBeGreaterThanOrEqual(1);
      expect(pod.metadata.labels).toMatchObject(pdb.selector.matchLabels);
      const hpa = find(baseManifests, 'HorizontalPodAutoscaler', name).spec as {
        scaleTargetRef: { kind: string; name: string };
        minReplicas: number;
        maxReplicas: number;
      };
      expect(hpa.scaleTargetRef).toMatchObject({ kind: 'Deployment', name });
      // The autoscaler alone sets the replicas: a Deployment's own would be reset on every apply.
      expect((deployment.spec as { replicas?: number }).replicas).toBeUndefined();
      expect(hpa.minReplicas).toBeGreaterThanOrEqual(2);
      expect(hpa.maxReplicas).toBeGreaterThan(hpa.minReplicas);
    });
  });

  it("rotates the users subgraph's signing keys with the operators' script, on the users database", () => {
    const cron = find(baseManifests, 'CronJob', 'users-key-rotation');
    const job = (cron.spec as { jobTemplate: { spec: { template: PodTemplate } } }).jobTemplate.spec.template;
    const [c] = job.spec.containers;
    expect(c?.command?.slice(0, 2)).toEqual(['node', 'scripts/keys.ts']);
    expect(existsSync(path.join(REPO_ROOT, 'scripts', 'keys.ts'))).toBe(true);
    expect(c?.image).toBe(container(find(baseManifests, 'Deployment', 'users'), 'users').image);
    expect(unresolved(c!)).toEqual([]);
    expect(environment(c!).DATABASE_URL).toBe('secret:database');
    // The same database as the users subgraph's.
    const users = environment(container(find(baseManifests, 'Deployment', 'users'), 'users'));
    expect(environment(c!).DATABASE_PREFIX).toBe(users.DATABASE_PREFIX);
  });

  describe('nats', () => {
    const nats = find(baseManifests, 'StatefulSet', 'nats');
    const c = container(nats, 'nats');
    const spec = nats.spec as { replicas: number; serviceName: string };
    const configFile = (file: string) => readFileSync(path.join(BASE, 'nats', file), 'utf8');

    it('is a 3-node StatefulSet of the official image docker-compose.yml runs, on the mounted config', () => {
      expect(spec.replicas).toBe(3);
      expect(c.image).toBe(compose.nats?.image);
      expect(c.image).toMatch(/^nats:2\.12/);
      expect(c.args).toEqual(['-c', '/etc/nats/nats-server.conf']);
      const mount = c.volumeMounts?.find((m) => m.mountPath === '/etc/nats');
      const volume = template(nats).spec.volumes?.find((v) => v.name === mount?.name);
      expect(volume?.configMap?.name).toBe('nats-config');
      const files = generator(base.configMapGenerator, 'nats-config')?.files ?? [];
      expect(files.map((f) => path.basename(f)).sort()).toEqual(['authorization.conf', 'nats-server.conf']);
    });

    it('syncs every write, serves monitoring on the probed port and forms a cluster of its pods', () => {
      const config = configFile('nats-server.conf');
      expect(config).toMatch(/^\s*sync_interval:\s*always\s*$/m);
      expect(config).toMatch(/^\s*http:\s*8222\s*$/m);
      expect(config).toMatch(/^include "authorization\.conf"$/m);
      // Each node its own name, from the pod's.
      expect(config).toMatch(/^server_name: \$POD_NAME$/m);
      expect(environment(c).POD_NAME).toBe('field:metadata.name');
      const routes = [...config.matchAll(/nats:\/\/([\w.-]+):6222/g)].map((m) => m[1]);
      expect(routes).toEqual([0, 1, 2].map((i) => `nats-${i}.${spec.serviceName}`));
      const headless = find(baseManifests, 'Service', spec.serviceName).spec as {
        clusterIP: string;
        publishNotReadyAddresses: boolean;
      };
      expect(headless).toMatchObject({ clusterIP: 'None', publishNotReadyAddresses: true });
      const monitor = c.ports?.find((p) => p.name === 'monitor');
      expect(monitor?.containerPort).toBe(8222);
      expect(c.readinessProbe?.httpGet).toEqual({ path: '/healthz?js-enabled-only=true', port: 'monitor' });
      expect(c.livenessProbe?.httpGet?.port).toBe('monitor');
    });

    it('serves the clients on the Service the processes connect to', () => {
      const url = new URL(commonEnv.NATS_URL!);
      const service = find(baseManifests, 'Service', url.hostname).spec as { ports: { port: number }[] };
      expect(service.ports.map((p) => p.port)).toContain(Number(url.port));
      expect(c.ports?.find((p) => p.name === 'client')?.containerPort).toBe(Number(url.port));
    });

    it('has a user per process with the permissions nats/permissions.ts generates, passwords from a Secret', () => {
      expect(configFile('authorization.conf')).toBe(authorizationFile(''));
      expect(c.envFrom).toEqual([{ secretRef: { name: 'nats-passwords' } }]);
      expect(unresolved(c)).toEqual([]);
      expect(Object.keys(localSecrets['nats-passwords'] ?? {}).sort()).toEqual(
        NATS_USERS.map(passwordVariable).sort(),
      );
    });

    it('takes routes only from its own nodes, and clients only from this system', () => {
      const policy = find(baseManifests, 'NetworkPolicy', 'nats').spec as {
        podSelector: { matchLabels: Record<string, string> };
        ingress: {
          from: { podSelector: { matchLabels: Record<string, string> } }[];
          ports: { port: number }[];
        }[];
      };
      expect(template(nats).metadata.labels).toMatchObject(policy.podSelector.matchLabels);
      const allowed = (port: number) =>
        policy.ingress.filter((rule) => rule.ports.some((p) => p.port === port)).flatMap((rule) => rule.from);
      expect(allowed(6222)).toEqual([{ podSelector: { matchLabels: policy.podSelector.matchLabels } }]);
      for (const port of [4222, 8222])
        expect(allowed(port)).toEqual([
          { podSelector: { matchLabels: { 'app.kubernetes.io/part-of': 'order-supergraph' } } },
        ]);
      expect(base.commonLabels).toEqual({ 'app.kubernetes.io/part-of': 'order-supergraph' });
    });

    it('loses at most one node to a disruption (two of three keep the quorum)', () => {
      const pdb = find(baseManifests, 'PodDisruptionBudget', 'nats').spec as { maxUnavailable: number };
      expect(pdb.maxUnavailable).toBe(1);
    });
  });
});

describe('k8s/overlays/local', () => {
  it('builds on the base and makes every Secret the base refers to', () => {
    expect(local.bases).toEqual(['../../base']);
    const referred = new Set<string>();
    for (const m of baseManifests.filter((m) => m.kind === 'Deployment' || m.kind === 'StatefulSet')) {
      for (const c of template(m).spec.containers) {
        for (const from of c.envFrom ?? []) if (from.secretRef) referred.add(from.secretRef.name);
        for (const v of c.env ?? [])
          if (v.valueFrom?.secretKeyRef) referred.add(v.valueFrom.secretKeyRef.name);
      }
    }
    expect([...referred]).toEqual(
      expect.arrayContaining(['admin', 'database', 'nats-passwords', 'service-secrets']),
    );
    for (const name of referred) expect(Object.keys(localSecrets)).toContain(name);
  });

  it('passes the production checks of the code with its values', () => {
    const nats = localSecrets['nats-passwords']!;
    for (const password of Object.values(nats)) expect(password).toMatch(/^[A-Za-z][A-Za-z0-9_-]{15,}$/);
    expect(localSecrets['service-secrets']?.METRICS_TOKEN?.length).toBeGreaterThanOrEqual(16);
    expect(new URL(localSecrets.database!.DATABASE_URL!).host).toBe('postgres:5432');
  });
});

/** kubectl, if installed: KUBECTL, else `kubectl` on the PATH. */
function kubectl(): string | undefined {
  const binary = process.env.KUBECTL ?? 'kubectl';
  const probe = spawnSync(binary, ['version', '--client'], { stdio: 'ignore', timeout: 30_000 });
  return probe.status === 0 ? binary : undefined;
}

describe('kubectl kustomize k8s/overlays/local', () => {
  const binary = kubectl();
  // Rendering needs kubectl; without it the checks above still hold the files to the code.
  const rendered: Manifest[] = binary
    ? parseAllDocuments(
        execFileSync(binary, ['kustomize', LOCAL], { encoding: 'utf8', timeout: 60_000, stdio: 'pipe' }),
      ).map((doc) => doc.toJS() as Manifest)
    : [];

  it('renders every process, NATS and the Secrets, with every reference resolved', () => {
    if (!binary) {
      console.warn('kubectl is not installed: k8s/overlays/local was not rendered');
      return;
    }
    for (const name of PROCESSES) {
      for (const kind of ['Deployment', 'Service', 'PodDisruptionBudget', 'HorizontalPodAutoscaler'])
        find(rendered, kind, name);
    }
    find(rendered, 'StatefulSet', 'nats');
    const named = (kind: string) =>
      new Map(rendered.filter((m) => m.kind === kind).map((m) => [m.metadata.name, m]));
    const secrets = named('Secret');
    const configMaps = named('ConfigMap');
    const keysOf = (m: Manifest | undefined) => Object.keys(m?.data ?? {});
    for (const m of rendered.filter((m) => ['Deployment', 'StatefulSet', 'CronJob'].includes(m.kind))) {
      const pod =
        m.kind === 'CronJob'
          ? (m.spec as { jobTemplate: { spec: { template: PodTemplate } } }).jobTemplate.spec.template
          : template(m);
      for (const c of pod.spec.containers) {
        for (const from of c.envFrom ?? []) {
          if (from.secretRef) expect(secrets.has(from.secretRef.name)).toBe(true);
          if (from.configMapRef) expect(configMaps.has(from.configMapRef.name)).toBe(true);
        }
        for (const v of c.env ?? []) {
          const ref = v.valueFrom?.secretKeyRef;
          if (ref) expect(keysOf(secrets.get(ref.name))).toContain(ref.key);
        }
      }
      for (const v of pod.spec.volumes ?? [])
        if (v.configMap) expect(configMaps.has(v.configMap.name)).toBe(true);
    }
    const namespaces = new Set(
      rendered
        .filter((m) => m.kind !== 'Namespace')
        .map((m) => (m.metadata as { namespace?: string }).namespace),
    );
    expect([...namespaces]).toEqual([local.namespace]);
  });
});
