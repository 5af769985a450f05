// The address a client is limited as (rate limit, login throttle, WebSockets per address). An
// IPv4 address is one client, or one NAT. An IPv6 customer is usually given a whole prefix (a
// /64 per network, often a /56 or /48 per site), so a new address per request costs an attacker
// nothing: IPv6 clients are grouped by their /56, the default of express-rate-limit and the
// size most providers hand out. An IPv4 address written as IPv6 (`::ffff:203.0.113.7`, what a
// dual-stack socket reports) is that IPv4 address.
import { isIPv4 } from 'node:net';
import ipaddr from 'ipaddr.js';

export const IPV6_PREFIX_BITS = 56;

/**
 * What is not an address at all (a proxy's `unknown`) is kept as it is, cut short: a trusted
 * proxy's header is what the key is read from, and a key must stay small.
 */
const MAX_UNPARSED_LENGTH = 64;

export function addressGroup(address: string): string {
  if (isIPv4(address)) return address;
  if (!ipaddr.isValid(address)) return address.slice(0, MAX_UNPARSED_LENGTH);
  const parsed = ipaddr.process(address);
  if (parsed.kind() === 'ipv4') return parsed.toString();
  const prefix = parsed.toByteArray().fill(0, IPV6_PREFIX_BITS / 8);
  return `${ipaddr.fromByteArray(prefix).toString()}/${IPV6_PREFIX_BITS}`;
}
