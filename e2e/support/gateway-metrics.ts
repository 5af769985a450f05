// A figure of the gateway's Prometheus /metrics, for tests and benchmarks that watch what the
// gateway did (reads, executions, live subscriptions) rather than only what a client saw.

/**
 * The sum of the series of `name` (exactly that metric, not others it prefixes) on the gateway
 * at `gatewayUrl` (its /graphql URL), over those whose labels contain `label` when it is given.
 */
export async function gatewayMetric(gatewayUrl: string, name: string, label = ''): Promise<number> {
  const text = await (await fetch(gatewayUrl.replace(/\/graphql$/, '/metrics'))).text();
  return text
    .split('\n')
    .filter((line) => (line.startsWith(`${name}{`) || line.startsWith(`${name} `)) && line.includes(label))
    .reduce((sum, line) => sum + Number(line.split(' ').at(-1)), 0);
}
