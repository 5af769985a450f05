// Figures of a process's Prometheus /metrics, for tests and benchmarks that watch what a process
// did (reads, executions, fetches, messages handled) rather than only what a client saw.

/**
 * The /metrics text of the process at `baseUrl` (its origin, e.g. `system.process(id).baseUrl`);
 * `headers` for one that asks for a token (METRICS_TOKEN in production mode).
 */
export async function metricsText(baseUrl: string, headers?: Record<string, string>): Promise<string> {
  return (await fetch(`${baseUrl}/metrics`, { headers })).text();
}

/**
 * The sum of the series of `name` in a /metrics text (exactly that metric, not others it
 * prefixes), over those whose labels contain every one of `labels` (e.g. `subgraph="orders"`).
 */
export function seriesSum(text: string, name: string, ...labels: string[]): number {
  return text
    .split('\n')
    .filter(
      (line) =>
        (line.startsWith(`${name}{`) || line.startsWith(`${name} `)) &&
        labels.every((label) => line.includes(label)),
    )
    .reduce((sum, line) => sum + Number(line.slice(line.lastIndexOf(' ') + 1)), 0);
}

/** `seriesSum` of the process at `baseUrl`, read now. */
export async function metricSum(baseUrl: string, name: string, ...labels: string[]): Promise<number> {
  return seriesSum(await metricsText(baseUrl), name, ...labels);
}
