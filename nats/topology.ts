// TEMPORARY (issue 15): the streams and consumers moved to shared/messaging/topology.ts. This
// re-export keeps gateway/src/subscriptions/engine.ts compiling until branch `splitgw` (which owns
// that file) is merged; then point its import at shared/messaging/topology.ts and delete this.
export { qualify } from '../shared/messaging/topology.ts';
