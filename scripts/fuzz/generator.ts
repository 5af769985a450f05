// Probe number `index` of a run seeded `seed`: which kind of hostile request it is, built by
// the generators of documents (from the real schema), HTTP forms and stream transports.
import { buildOperation, mutateRequest, type RootKind } from './documents.ts';
import { documentAttack } from './document-attacks.ts';
import { httpAttack } from './http-attacks.ts';
import { operationRequest } from './http-probes.ts';
import type { Probe, World } from './probe.ts';
import { Random } from './random.ts';
import { sseAttack, sseRequest, wsAttack, wsRequest } from './stream-probes.ts';

type Kind =
  | 'schema-valid'
  | 'schema-mutated'
  | 'document-attack'
  | 'http'
  | 'sse-subscription'
  | 'sse'
  | 'ws-subscription'
  | 'ws';

const KINDS: readonly (readonly [Kind, number])[] = [
  ['schema-valid', 10],
  ['schema-mutated', 30],
  ['document-attack', 18],
  ['http', 15],
  ['sse-subscription', 5],
  ['sse', 5],
  ['ws-subscription', 7],
  ['ws', 10],
];

function schemaOperation(r: Random, world: World, root: RootKind, hostile: boolean) {
  return buildOperation(r, world, {
    root,
    variableChance: r.chance(0.5) ? 0.8 : 0.1,
    hostileChance: hostile ? r.pick([0.3, 0.6, 1]) : 0,
    maxDepth: r.int(1, 4),
  });
}

export function generateProbe(seed: number, index: number, world: World): Probe {
  const r = Random.forProbe(seed, index);
  const kind = r.weighted(KINDS);
  switch (kind) {
    case 'schema-valid':
    case 'schema-mutated': {
      const hostile = kind === 'schema-mutated';
      const root = r.weighted<RootKind>([
        ['query', 6],
        ['mutation', 4],
        ['subscription', 1],
      ]);
      const operation = schemaOperation(r, world, root, hostile);
      return operationRequest(r, world, `${kind}/${root}`, hostile ? mutateRequest(r, operation) : operation);
    }
    case 'document-attack': {
      const attack = documentAttack(r, world);
      return operationRequest(r, world, attack.family, attack.operation);
    }
    case 'http':
      return httpAttack(r, world);
    case 'sse-subscription':
    case 'ws-subscription': {
      const hostile = r.chance(0.7);
      const root = r.chance(0.85) ? 'subscription' : r.pick<RootKind>(['query', 'mutation']);
      const base = schemaOperation(r, world, root, hostile);
      const operation = r.chance(0.2)
        ? documentAttack(r, world).operation
        : hostile
          ? mutateRequest(r, base)
          : base;
      const family = `${hostile ? 'schema-mutated' : 'schema-valid'}/${root}`;
      return kind === 'sse-subscription' ? sseRequest(r, family, operation) : wsRequest(r, family, operation);
    }
    case 'sse':
      return sseAttack(r, world);
    case 'ws':
      return wsAttack(r, world);
  }
}
