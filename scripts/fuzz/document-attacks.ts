// Documents shaped to hurt the server rather than to ask for data: many aliases, fragments
// spread again and again, deep nesting (selections, inline fragments, list and object
// arguments), many directives or tokens, several operations, raw control characters and
// plain garbage. Each generator names the attack in its family.
import type { Operation } from './documents.ts';
import type { World } from './probe.ts';
import type { Random } from './random.ts';
import { controlString, literalOf, nestedList, nestedObject, noise } from './values.ts';

export interface Attack {
  readonly family: string;
  readonly operation: Operation & { query: string };
}

type AttackMaker = (r: Random, world: World) => Attack;

const q = (family: string, query: string, rest: Omit<Operation, 'query'> = {}): Attack => ({
  family,
  operation: { query, ...rest },
});

/** `{...F0} fragment F0 on Query {...F1 ...F1} … fragment Fn on Query {__typename}`. */
export function repeatedFragments(levels: number): string {
  const parts = ['{ ...F0 }'];
  for (let i = 0; i < levels; i += 1) parts.push(`fragment F${i} on Query { ...F${i + 1} ...F${i + 1} }`);
  parts.push(`fragment F${levels} on Query { __typename }`);
  return parts.join(' ');
}

const ATTACKS: readonly (readonly [AttackMaker, number])[] = [
  [
    (r) =>
      q(
        'document/aliases',
        `{ ${Array.from({ length: r.pick([31, 200, 3000]) }, (_, i) => `a${i}: __typename`).join(' ')} }`,
      ),
    3,
  ],
  [
    (r, w) =>
      q(
        'document/aliases-on-field',
        `{ ${Array.from({ length: r.pick([31, 100, 500]) }, (_, i) => `p${i}: product(id: ${literalOf(r.pick(w.productIds))}) { id name }`).join(' ')} }`,
      ),
    2,
  ],
  // Up to 22 levels: the deepest take tens of seconds where the work doubles per level, without
  // freezing the run for minutes (check:hostile sends 40 levels).
  [(r) => q('document/repeated-fragments', repeatedFragments(r.int(4, 22))), 1],
  [
    (r) => {
      const n = r.pick([100, 1_400, 3_000]);
      return q(
        'document/nested-inline-fragments',
        // Written tight (`...on Query{`), as an attacker would, to fit more levels under the size limit.
        `{${'...on Query{'.repeat(n)}__typename${'}'.repeat(n)}}`,
      );
    },
    2,
  ],
  [
    (r) => {
      const n = r.pick([13, 40, 300]);
      return q(
        'document/deep-selection',
        `{ me { ${'orders { edges { node { customer { '.repeat(n)}id${' } } } }'.repeat(n)} } }`,
      );
    },
    2,
  ],
  [
    (r) =>
      q(
        'document/deep-list-argument',
        `{ products(filter: { category: ${nestedList(r.pick([100, 3_000, 6_000])).literal} }) { totalCount } }`,
      ),
    2,
  ],
  [
    (r) =>
      q(
        'document/deep-object-argument',
        `{ products(filter: ${nestedObject(r.pick([100, 2_000])).literal}) { totalCount } }`,
      ),
    1,
  ],
  [
    (r) =>
      q('document/deep-list-variable', 'query($f: ProductFilter) { products(filter: $f) { totalCount } }', {
        variables: { f: { category: nestedList(r.pick([100, 3_000, 20_000])).json } },
      }),
    2,
  ],
  [
    (r) => q('document/many-directives', `{ __typename ${'@skip(if: false) '.repeat(r.pick([50, 1_000]))}}`),
    1,
  ],
  [
    (r) =>
      q(
        'document/unknown-directives',
        `{ __typename ${Array.from({ length: r.pick([5, 500]) }, (_, i) => `@d${i}`).join(' ')} }`,
      ),
    1,
  ],
  [
    (r) =>
      q(
        'document/many-tokens',
        `{ products(filter: { category: "x" }, first: 1) { totalCount } __typename(a: [${Array.from({ length: r.pick([1_000, 9_000]) }, () => '1').join(',')}]) }`,
      ),
    1,
  ],
  [
    (r) =>
      q(
        'document/many-fragments',
        `{ ${Array.from({ length: r.pick([50, 1_000]) }, (_, i) => `...G${i}`).join(' ')} } ${Array.from(
          { length: 1_000 },
          (_, i) => `fragment G${i} on Query { __typename }`,
        )
          .slice(0, r.pick([50, 1_000]))
          .join(' ')}`,
      ),
    1,
  ],
  [
    () => q('document/fragment-cycle', '{ ...A } fragment A on Query { ...B } fragment B on Query { ...A }'),
    1,
  ],
  [() => q('document/fragment-wrong-type', '{ me { ...P } } fragment P on Product { id }'), 1],
  [
    (r) =>
      q(
        'document/deep-introspection',
        `{ __schema { types { ${'fields { type { ofType { '.repeat(r.pick([3, 30]))}name${' } } }'.repeat(r.pick([3, 30]))} } } }`,
      ),
    1,
  ],
  [
    (r) => q('document/introspection-control', `{ __type(name: ${literalOf(controlString(r))}) { name } }`),
    1,
  ],
  [(r) => q('document/raw-control-characters', `{ __typename ${controlString(r)} }`), 2],
  [
    (r) =>
      q(
        'document/string-control-characters',
        `{ products(filter: { category: ${literalOf(controlString(r))} }) { totalCount } }`,
      ),
    2,
  ],
  [
    (r) =>
      q(
        'document/login-control-characters',
        `mutation { login(email: ${literalOf(controlString(r))}, password: ${literalOf(controlString(r))}) { token } }`,
      ),
    2,
  ],
  [
    (r) =>
      q(
        'document/garbage',
        r.pick([
          '',
          ' ',
          '#only a comment',
          '{',
          '}',
          '{ __typename',
          '"unterminated',
          'query query query',
          '{ a(b: 1e99999) }',
          noise(r, r.int(1, 200), true),
        ]),
      ),
    3,
  ],
  [
    (r) =>
      q(
        'document/huge-string-literal',
        `{ products(filter: { search: "${'x'.repeat(r.pick([19_000, 25_000, 900_000]))}" }) { totalCount } }`,
      ),
    1,
  ],
  [() => q('document/several-operations', 'query A { __typename } query B { __typename }'), 2],
  [
    (r) =>
      q('document/unknown-operation-name', 'query A { __typename }', {
        operationName: r.pick(['B', '', 'A ', '\u0000']),
      }),
    2,
  ],
  [() => q('document/anonymous-and-named', '{ __typename } query B { __typename }'), 1],
  [
    (r, w) =>
      q(
        'document/subscription-over-http',
        `subscription { orderStatusChanged(orderId: ${literalOf(r.pick(w.orderIds))}) { id status } }`,
      ),
    2,
  ],
  [
    (r) =>
      q(
        'document/many-registers',
        `mutation { ${Array.from({ length: r.pick([2, 5]) }, (_, i) => `r${i}: register(input: { email: "fz${r.hex(8)}${i}@example.com", password: "fuzz-password", name: "F" }) { token }`).join(' ')} }`,
      ),
    1,
  ],
  [
    (r) =>
      q(
        'document/many-logins',
        `mutation { ${Array.from({ length: r.pick([2, 8]) }, (_, i) => `l${i}: login(email: "admin@example.com", password: "wrong-${i}") { token }`).join(' ')} }`,
      ),
    1,
  ],
];

export function documentAttack(r: Random, world: World): Attack {
  return r.weighted(ATTACKS)(r, world);
}
