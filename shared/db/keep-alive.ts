// How the services' PostgreSQL connections notice a peer that vanished without closing (a host
// gone, a network partition), on both ends. Linux's defaults wait two hours before the first
// probe. On the client, a query to a silent server would wait that long; on the server, the
// transaction of a client that vanished would hold its row locks that long, blocking every
// other instance that needs those rows. Keep-alive probes ask only that the peer's TCP stack
// answer, so a transaction that is merely slow (a payment provider, an SMTP server) is untouched.
// pg connection settings, for pg.Client and MikroORM's driverOptions alike.
export const KEEP_ALIVE = {
  keepAlive: true,
  keepAliveInitialDelayMillis: 10_000,
  // The server's side, per connection: first probe after 30 s idle, then every 10 s, three missed.
  options: '-c tcp_keepalives_idle=30 -c tcp_keepalives_interval=10 -c tcp_keepalives_count=3',
} as const;
