// The one module that loads graphql-shield. Every subgraph's permissions.ts imports rules and
// `applyPermissions` from here, never from 'graphql-shield' directly.
//
// Why: graphql-shield 7.6.5 (unmaintained since 2024) is broken on Node >= 23:
//  1. Its ESM build does `import { isUndefined } from 'util'`; Node removed `util.isUndefined`,
//     so `import 'graphql-shield'` fails to link. We load the CommonJS build with createRequire,
//     together with the CommonJS graphql-middleware (shield's `middleware()` result is checked
//     with `instanceof` against graphql-middleware's own classes, so both must be the same copy).
//  2. The CommonJS `RuleChain` / `RuleRace` still call `util.isUndefined` when they evaluate, which
//     throws; shield swallows the exception and every field guarded by `chain`/`race` is denied.
//     We do not patch Node's `util` (that would change a core module for the whole process);
//     `chain` and `race` below build subclasses whose `evaluate` is reimplemented without it.
//     Everything else (`rule`, `and`, `or`, `not`, `allow`, `deny`, `shield`) works as published.
//
// Rules:
//  - A rule returns `true` to allow, or an `Error` (ideally a GraphQLError with `extensions.code`)
//    to deny with that error. Returning `false` or throwing denies with the fallback error
//    (FORBIDDEN 'Not authorised'). Strings are not accepted here: they become plain Errors without
//    a code, which the error formatter would mask.
//  - Every rule needs a unique name: graphql-shield caches rule results per request by name, and
//    `applyPermissions` throws if two different functions share one.
//  - A deny fallback also covers federation's fields, so a subgraph must allow `Query._service`
//    and decide `Query._entities` itself. Fields of entity types are guarded by their type's rules
//    whether they are reached through a root field or through `_entities`.
import { createRequire } from 'node:module';
import { GraphQLError, type GraphQLResolveInfo, type GraphQLSchema } from 'graphql';
import { ErrorCode } from '../errors.ts';

const require = createRequire(import.meta.url);

type ShieldModule = typeof import('graphql-shield');
type MiddlewareModule = typeof import('graphql-middleware');

const shieldCjs = require('graphql-shield') as ShieldModule;
const { applyMiddleware } = require('graphql-middleware') as MiddlewareModule;

/** Any rule or combination of rules (`rule(...)`, `and(...)`, `allow`, ...). */
export type ShieldRule = Parameters<ShieldModule['and']>[number];
/** A rule for every field of a type, or a rule per field (`'*'` is the type's default). */
export type RuleFieldMap = { readonly [field: string]: ShieldRule };
/** Rules per type name. Types that are not listed get the fallback rule. */
export type RuleTree = { readonly [typeName: string]: ShieldRule | RuleFieldMap };

export type RuleResult = true | Error;
export type RuleFunction<TContext = unknown, TParent = unknown, TArgs = Record<string, unknown>> = (
  parent: TParent,
  args: TArgs,
  context: TContext,
  info: GraphQLResolveInfo,
) => RuleResult | Promise<RuleResult>;

export type RuleOptions = {
  /**
   * 'contextual' (once per request: depends on the context only), 'strict' (per parent and
   * arguments) or 'no_cache' (default: every field evaluation).
   */
  cache?: 'strict' | 'contextual' | 'no_cache';
};

/**
 * Defines a named rule. `name` must be unique across the rule tree (see the module comment).
 * The context, parent and argument types are taken from the function's parameter annotations.
 *
 * @example
 * const isSignedIn = rule('isSignedIn', { cache: 'contextual' })((_parent, _args, ctx: Context) =>
 *   ctx.user ? true : new GraphQLError('You must be signed in', { extensions: { code: 'UNAUTHENTICATED' } }),
 * );
 */
export function rule(
  name: string,
  options: RuleOptions = {},
): <TContext = unknown, TParent = unknown, TArgs = Record<string, unknown>>(
  fn: RuleFunction<TContext, TParent, TArgs>,
) => ShieldRule {
  return (fn) =>
    shieldCjs.rule(name, { cache: options.cache ?? 'no_cache' })(
      fn as Parameters<ReturnType<ShieldModule['rule']>>[0],
    );
}

export const allow: ShieldRule = shieldCjs.allow;
export const deny: ShieldRule = shieldCjs.deny;

/** Allows when every rule allows; all rules are evaluated concurrently. */
export const and = (...rules: ShieldRule[]): ShieldRule => shieldCjs.and(...rules);
/** Allows when any rule allows; all rules are evaluated concurrently. */
export const or = (...rules: ShieldRule[]): ShieldRule => shieldCjs.or(...rules);
/** Allows when the rule denies; `error` is returned when the rule allows. */
export const not = (inner: ShieldRule, error?: Error): ShieldRule => shieldCjs.not(inner, error);

// --- chain / race: the published classes with `evaluate` rewritten (see point 2 above) ---

type LogicRuleInstance = ReturnType<ShieldModule['chain']>;
type EvaluateArgs = Parameters<LogicRuleInstance['evaluate']>;
type EvaluateResult = Awaited<ReturnType<LogicRuleInstance['evaluate']>>;
type LogicRuleClass = new (rules: ShieldRule[]) => LogicRuleInstance;

// The classes are not exported by graphql-shield's package entry; take them from instances.
const PublishedRuleChain = shieldCjs.chain().constructor as LogicRuleClass;
const PublishedRuleRace = shieldCjs.race().constructor as LogicRuleClass;

/**
 * Resolves rules one after another and stops at the first result that is (`stopAtAllow`) or is
 * not (`!stopAtAllow`) `true`. Same results as graphql-shield's own `iterate`, in call order.
 */
async function evaluateInSequence(
  rules: ShieldRule[],
  stopAtAllow: boolean,
  ...args: EvaluateArgs
): Promise<EvaluateResult> {
  const results: EvaluateResult = [];
  for (const current of rules) {
    const result = await current.resolve(...args);
    results.push(result);
    if ((result === true) === stopAtAllow) break;
  }
  return results;
}

class RuleChain extends PublishedRuleChain {
  override evaluate(...args: EvaluateArgs): Promise<EvaluateResult> {
    return evaluateInSequence(this.getRules(), false, ...args);
  }
}

class RuleRace extends PublishedRuleRace {
  override evaluate(...args: EvaluateArgs): Promise<EvaluateResult> {
    return evaluateInSequence(this.getRules(), true, ...args);
  }
}

/** Like `and`, but evaluates the rules in order and stops at the first one that denies. */
export const chain = (...rules: ShieldRule[]): ShieldRule => new RuleChain(rules);
/** Like `or`, but evaluates the rules in order and stops at the first one that allows. */
export const race = (...rules: ShieldRule[]): ShieldRule => new RuleRace(rules);

// --- applying rules to a schema ---

export type PermissionOptions = {
  /** Rule for every field with no rule of its own. Default: `deny` (fail closed). */
  fallbackRule?: ShieldRule;
  /**
   * Let errors thrown by resolvers through unchanged (default true). If false, they are replaced
   * by the fallback error.
   */
  allowExternalErrors?: boolean;
  /** Error for a denial without an error of its own. Default: FORBIDDEN 'Not authorised'. */
  fallbackError?: Error | (() => Error);
  /** Rethrow exceptions from rules instead of denying. Default false; only for debugging tests. */
  debug?: boolean;
};

const forbidden = (): GraphQLError =>
  new GraphQLError('Not authorised', { extensions: { code: ErrorCode.FORBIDDEN } });

/**
 * Returns a copy of `schema` whose resolvers are guarded by `rules`.
 *
 * Defaults: deny fallback, resolver errors pass through with their codes, a fresh FORBIDDEN
 * GraphQLError per denial. `_Service` (the SDL object behind `Query._service`) is allowed unless
 * the tree names it; `Query._service` and `Query._entities` still need rules of their own.
 *
 * Fields whose rule is `allow` keep their own resolver, unwrapped: graphql-shield would wrap
 * them in an async middleware that only says yes, which turns every plain property read (an
 * item's quantity, a Money's currency) into a chain of promises on each request. What it
 * answers is the same: an allowed field runs its resolver, and a resolver's error is the field's
 * error either way.
 */
export function applyPermissions(
  schema: GraphQLSchema,
  rules: RuleTree,
  options: PermissionOptions = {},
): GraphQLSchema {
  const tree: RuleTree =
    schema.getType('_Service') && !('_Service' in rules) ? { ...rules, _Service: allow } : rules;
  // Each option is defaulted on its own, so an explicit `undefined` cannot fall back to
  // graphql-shield's defaults (an `allow` fallback, masked resolver errors).
  const fallbackError = options.fallbackError ?? forbidden;
  const fallbackRule = options.fallbackRule ?? deny;
  const generator = shieldCjs.shield(tree as Parameters<ShieldModule['shield']>[0], {
    fallbackRule,
    allowExternalErrors: options.allowExternalErrors ?? true,
    debug: options.debug ?? false,
    fallbackError: typeof fallbackError === 'function' ? () => fallbackError() : fallbackError,
  });
  const middleware = generator.generate(schema) as MiddlewareTypeMap;
  for (const [typeName, fields] of Object.entries(middleware)) {
    for (const field of Object.keys(fields)) {
      if (ruleOf(tree, typeName, field, fallbackRule) === allow) delete fields[field];
    }
  }
  return applyMiddleware(schema, middleware);
}

type MiddlewareTypeMap = Record<string, Record<string, unknown>>;

/** The rule graphql-shield applies to a field: its own, else its type's `'*'`, else the fallback. */
function ruleOf(tree: RuleTree, typeName: string, field: string, fallbackRule: ShieldRule): ShieldRule {
  const rules = tree[typeName];
  if (rules === undefined) return fallbackRule;
  if (isRule(rules)) return rules;
  return rules[field] ?? rules['*'] ?? fallbackRule;
}

/** A rule has a `resolve` method; in a field map, a field named `resolve` holds a rule object. */
function isRule(value: ShieldRule | RuleFieldMap): value is ShieldRule {
  return typeof (value as { resolve?: unknown }).resolve === 'function';
}
