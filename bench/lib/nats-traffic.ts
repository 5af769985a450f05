// Messages through the bench's own nats-server (BENCH_NATS=own), from its monitoring endpoint
// /varz: what every process sent to it (publishes, acks, pull requests) and what it sent on
// (deliveries, publish acknowledgements, heartbeats). Unlike CPU time, these counts per order do
// not move with how busy the machine is.
export interface NatsTraffic {
  readonly inMsgs: number;
  readonly outMsgs: number;
}

/** The server's counters now; undefined without a monitoring endpoint. */
export async function sampleNatsTraffic(monitorUrl: string | undefined): Promise<NatsTraffic | undefined> {
  if (!monitorUrl) return undefined;
  const varz = (await (await fetch(`${monitorUrl}/varz`)).json()) as { in_msgs: number; out_msgs: number };
  return { inMsgs: varz.in_msgs, outMsgs: varz.out_msgs };
}

/** Messages in and out between two samples, per `per` (e.g. confirmed orders). */
export function natsTrafficPer(
  before: NatsTraffic | undefined,
  after: NatsTraffic | undefined,
  per: number,
): { readonly in: number; readonly out: number } | undefined {
  if (!before || !after || per === 0) return undefined;
  return { in: (after.inMsgs - before.inMsgs) / per, out: (after.outMsgs - before.outMsgs) / per };
}
