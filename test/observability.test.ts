// docker-compose.yml's `observability` profile checked against the code: Prometheus scrapes every
// process on its port and path with the metrics token, Grafana's data sources point at the
// profile's services and ports, the processes can send their traces to Jaeger, and every metric
// a dashboard panel queries is one the code registers.

import { existsSync, readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from '@jest/globals';
import { parse } from 'yaml';
import { DEFAULT_PORTS, PROCESSES, REPO_ROOT } from '../scripts/lib/services.ts';
import { createMetrics } from '../shared/observability/metrics.ts';
import { backlogGauges } from '../shared/messaging/backlog-sampler.ts';
import { createGatewayMetrics } from '../gateway/src/metrics.ts';
import { createSubscriptionMetrics } from '../gateway/src/subscriptions/metrics.ts';
import { readTracingConfig } from '../shared/observability/tracing.ts';
import { codeServes, processSources } from './support/sources.ts';

interface Service {
  profiles?: string[];
  image?: string;
  command?: string[];
  environment?: Record<string, string>;
  volumes?: string[];
  expose?: string[];
  ports?: string[];
  secrets?: string[];
}
const compose = parse(readFileSync(path.join(REPO_ROOT, 'docker-compose.yml'), 'utf8')) as {
  services: Record<string, Service>;
  secrets?: Record<string, { environment?: string }>;
};
const services = compose.services;
const PROFILE = ['prometheus', 'grafana', 'jaeger'];

/** The host file a service mounts at `target` (a file or a folder), which must exist. */
function mounted(service: string, target: string): string {
  const volume = services[service]?.volumes?.find((v) => v.split(':')[1] === target);
  if (!volume) throw new Error(`${service} mounts nothing at ${target}`);
  const file = path.join(REPO_ROOT, volume.split(':')[0]!);
  expect(existsSync(file)).toBe(true);
  return file;
}

/** Ports a service listens on inside the compose network. */
const listensOn = (s: Service | undefined) => [
  ...(s?.expose ?? []).map(Number),
  ...(s?.ports ?? []).map((p) => Number(String(p).split(':').at(-1))),
];

/**
 * The series names the code exports: the metrics its factories register (the shared ones and
 * Node's defaults, the gateway's, the backlog sampler's), read from a registry, and those
 * constructed inline (the orders saga's, payments'), found in the sources; a histogram as its
 * _bucket, _sum and _count series.
 */
async function exportedSeries(): Promise<Set<string>> {
  const series = new Set<string>();
  const add = (type: string, name: string) => {
    series.add(name);
    if (type === 'histogram')
      for (const suffix of ['_bucket', '_sum', '_count']) series.add(`${name}${suffix}`);
    if (type === 'summary') for (const suffix of ['_sum', '_count']) series.add(`${name}${suffix}`);
  };
  const constructed = /new (Counter|Gauge|Histogram|Summary)(?:<[^>]*>)?\(\{\s*name: '([a-zA-Z_:][\w:]*)'/g;
  for (const [, type, name] of processSources.matchAll(constructed)) add(type!.toLowerCase(), name!);
  const metrics = createMetrics('test');
  createGatewayMetrics(metrics);
  createSubscriptionMetrics(metrics);
  backlogGauges(metrics);
  for (const metric of await metrics.registry.getMetricsAsJSON()) add(String(metric.type), metric.name);
  return series;
}

/** PromQL words that are not metric names. */
const KEYWORDS = new Set([
  'by',
  'without',
  'on',
  'ignoring',
  'group_left',
  'group_right',
  'bool',
  'and',
  'or',
  'unless',
  'offset',
]);

/** The metric names a PromQL expression reads (functions, labels, keywords and literals left out). */
function metricNames(expr: string): string[] {
  const bare = expr
    .replace(/"(?:[^"\\]|\\.)*"/g, '""')
    .replace(/\{[^}]*\}/g, '')
    .replace(/\[[^\]]*\]/g, '')
    .replace(/\b\d[\w.]*/g, '')
    .replace(/\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, '');
  return [...bare.matchAll(/[a-zA-Z_:][\w:]*(?!\s*\(|\w)/g)]
    .map((m) => m[0])
    .filter((word) => !KEYWORDS.has(word) && !/^\d/.test(word));
}

interface Panel {
  type: string;
  title: string;
  datasource?: { uid: string };
  targets?: { expr: string; datasource?: { uid: string } }[];
  panels?: Panel[];
}
const dashboardDir = mounted('grafana', '/var/lib/grafana/dashboards');
const dashboards = readdirSync(dashboardDir)
  .filter((f) => f.endsWith('.json'))
  .map(
    (f) => JSON.parse(readFileSync(path.join(dashboardDir, f), 'utf8')) as { title: string; panels: Panel[] },
  );
const panelsOf = (panels: readonly Panel[]): Panel[] =>
  panels.flatMap((p) => [p, ...panelsOf(p.panels ?? [])]);
const queries = dashboards.flatMap((d) =>
  panelsOf(d.panels).flatMap((p) => (p.targets ?? []).map((t) => ({ panel: p.title, expr: t.expr }))),
);

const provisioning = mounted('grafana', '/etc/grafana/provisioning');
const datasources = (
  parse(readFileSync(path.join(provisioning, 'datasources', 'datasources.yaml'), 'utf8')) as {
    datasources: { uid: string; type: string; url: string }[];
  }
).datasources;

describe('docker-compose.yml profile observability', () => {
  it('holds Prometheus, Grafana and Jaeger, and nothing else runs only in a profile', () => {
    const inProfiles = Object.entries(services).filter(([, s]) => s.profiles);
    expect(inProfiles.map(([name]) => name).sort()).toEqual([...PROFILE].sort());
    for (const [, s] of inProfiles) expect(s.profiles).toEqual(['observability']);
  });

  it('has Prometheus scrape every process on its port and metrics path, with the metrics token', () => {
    const config = parse(readFileSync(mounted('prometheus', '/etc/prometheus/prometheus.yml'), 'utf8')) as {
      scrape_configs: {
        metrics_path: string;
        authorization: { type: string; credentials_file: string };
        static_configs: { targets: string[] }[];
      }[];
    };
    const [job] = config.scrape_configs;
    expect(job?.metrics_path).toBe('/metrics');
    expect(codeServes('/metrics')).toBe(true);
    const targets = job!.static_configs.flatMap((c) => c.targets);
    expect(targets.sort()).toEqual(PROCESSES.map((name) => `${name}:${DEFAULT_PORTS[name]}`).sort());
    for (const target of targets) {
      const [host, port] = target.split(':');
      expect(listensOn(services[host!])).toContain(Number(port));
    }
    // The token file is the compose secret made from METRICS_TOKEN, which every process checks.
    expect(job?.authorization).toEqual({ type: 'Bearer', credentials_file: '/run/secrets/metrics_token' });
    expect(services.prometheus?.secrets).toEqual(['metrics_token']);
    expect(compose.secrets?.metrics_token).toEqual({ environment: 'METRICS_TOKEN' });
    for (const name of PROCESSES)
      expect(services[name]?.environment?.METRICS_TOKEN).toMatch(/^\$\{METRICS_TOKEN:\?/);
  });

  it("points Grafana's data sources at the profile's Prometheus and Jaeger ports", () => {
    expect(datasources.map((d) => d.type).sort()).toEqual(['jaeger', 'prometheus']);
    expect(services.prometheus?.command).not.toContainEqual(expect.stringMatching(/--web\.listen-address/));
    for (const source of datasources) {
      const url = new URL(source.url);
      expect(PROFILE).toContain(url.hostname);
      expect(listensOn(services[url.hostname])).toContain(Number(url.port));
    }
    const prometheus = new URL(datasources.find((d) => d.type === 'prometheus')!.url);
    expect(prometheus.port).toBe('9090');
  });

  it('lets every process send its traces to Jaeger over OTLP/HTTP', () => {
    expect(services.jaeger?.environment?.COLLECTOR_OTLP_ENABLED).toBe('true');
    expect(listensOn(services.jaeger)).toContain(4318);
    for (const name of PROCESSES) {
      // Off unless set, so that `docker compose up` without the profile sends nothing.
      expect(services[name]?.environment?.OTEL_EXPORTER_OTLP_ENDPOINT).toBe(
        '${OTEL_EXPORTER_OTLP_ENDPOINT:-}',
      );
    }
    // The endpoint the profile's comment gives is one the code accepts, and sends to Jaeger's port.
    const tracing = readTracingConfig({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://jaeger:4318' });
    expect(tracing.tracesUrl).toBe('http://jaeger:4318/v1/traces');
    expect(readFileSync(path.join(REPO_ROOT, 'docker-compose.yml'), 'utf8')).toContain(
      'OTEL_EXPORTER_OTLP_ENDPOINT=http://jaeger:4318 docker compose --profile observability up',
    );
  });
});

describe('the provisioned dashboards', () => {
  it('query through the provisioned data sources', () => {
    const uids = new Set(datasources.map((d) => d.uid));
    const panels = dashboards.flatMap((d) => panelsOf(d.panels)).filter((p) => p.type !== 'row');
    expect(panels.length).toBeGreaterThan(0);
    for (const panel of panels) expect(uids).toContain(panel.datasource?.uid);
  });

  it('query only metrics the code exports', async () => {
    const exported = await exportedSeries();
    expect(queries.length).toBeGreaterThan(0);
    const unknown = queries.flatMap(({ panel, expr }) =>
      metricNames(expr)
        .filter((name) => !exported.has(name))
        .map((name) => `${panel}: ${name}`),
    );
    expect(unknown).toEqual([]);
  });

  it('show what an operator needs', () => {
    const queried = new Set(queries.flatMap(({ expr }) => metricNames(expr)));
    for (const metric of [
      'graphql_operations_total',
      'graphql_operation_duration_seconds_bucket',
      'gateway_subgraph_fetches_total',
      'orders_settled_total',
      'order_saga_duration_seconds_bucket',
      'jetstream_consumer_pending_messages',
      'jetstream_consumer_redelivered_messages',
      'outbox_backlog_messages',
      'dead_letters_stored',
      'gateway_live_subscriptions',
      'gateway_subgraph_breaker_state',
    ])
      expect(queried).toContain(metric);
  });

  it('reads metric names out of PromQL, leaving functions, labels and keywords', () => {
    expect(
      metricNames(
        'histogram_quantile(0.95, sum by (le, operation) (rate(a_seconds_bucket{service="gateway", x=~"b|c"}[$__rate_interval]))) / ignoring (x) b_total offset 5m',
      ),
    ).toEqual(['a_seconds_bucket', 'b_total']);
  });
});
