// Puts the login throttle in front of the users subgraph: once an operation is parsed,
// validated and resolved (before it is planned), its `login` and `register` root fields are
// found, aliases and fragments included. More than one is refused (each would cost a password
// hash); a login from a throttled account or address, or a registration over its address's
// budget, is refused with RATE_LIMITED (429, Retry-After) before any subgraph is called, so the
// password is not even checked. When the answer goes out, a login that failed with
// UNAUTHENTICATED counts as a failure; one that signed in resets its account at that address.
import type { ApolloServerPlugin, BaseContext, GraphQLResponse } from '@apollo/server';
import {
  getArgumentValues,
  getVariableValues,
  Kind,
  type DocumentNode,
  type FieldNode,
  type GraphQLSchema,
  type OperationDefinitionNode,
  type SelectionSetNode,
} from 'graphql';
import { AppError, ErrorCode } from '../../../shared/errors.ts';
import { toRequestError } from '../../../shared/graphql/format-error.ts';
import type { ContextFactory } from '../../../shared/http/apollo-handler.ts';
import { requestMeta } from '../http/request-meta.ts';
import type { LoginAttempt, LoginThrottle, Outcome } from './login-throttle.ts';
import { rateLimitedError } from './rate-limit.ts';

export const CREDENTIAL_FIELDS: ReadonlySet<string> = new Set(['login', 'register']);

export interface CredentialField {
  readonly name: string;
  /** The alias, or the name: where the field's answer and errors appear. */
  readonly responseKey: string;
  readonly node: FieldNode;
}

/**
 * The operation's distinct `login`/`register` root fields (distinct by response key, as they
 * execute: one field spelt twice under the same key runs once). Each fragment is read once.
 */
export function credentialFields(
  document: DocumentNode,
  operation: OperationDefinitionNode,
): CredentialField[] {
  if (operation.operation !== 'mutation') return [];
  const fragments = new Map(
    document.definitions.flatMap((d) =>
      d.kind === Kind.FRAGMENT_DEFINITION ? [[d.name.value, d] as const] : [],
    ),
  );
  const found = new Map<string, CredentialField>();
  const visited = new Set<string>();
  const walk = (selectionSet: SelectionSetNode): void => {
    for (const selection of selectionSet.selections) {
      if (selection.kind === Kind.FIELD) {
        const responseKey = selection.alias?.value ?? selection.name.value;
        if (CREDENTIAL_FIELDS.has(selection.name.value) && !found.has(responseKey)) {
          found.set(responseKey, { name: selection.name.value, responseKey, node: selection });
        }
      } else if (selection.kind === Kind.INLINE_FRAGMENT) {
        walk(selection.selectionSet);
      } else if (!visited.has(selection.name.value)) {
        visited.add(selection.name.value);
        const fragment = fragments.get(selection.name.value);
        if (fragment) walk(fragment.selectionSet);
      }
    }
  };
  walk(operation.selectionSet);
  return [...found.values()];
}

/** The `email` argument of a login field, from a literal, a variable or a variable's default. */
export function emailArgument(
  schema: GraphQLSchema,
  operation: OperationDefinitionNode,
  field: FieldNode,
  variables: Readonly<Record<string, unknown>>,
): string {
  const definition = schema.getMutationType()?.getFields()[field.name.value];
  if (!definition) return '';
  const coerced = getVariableValues(schema, operation.variableDefinitions ?? [], variables);
  // Variables that do not fit fail the request before the users subgraph sees it.
  if (coerced.errors) return '';
  try {
    const email = getArgumentValues(definition, field, coerced.coerced)['email'];
    return typeof email === 'string' ? email : '';
  } catch {
    return '';
  }
}

export interface ClientAddressContext {
  /** As the limits count it: IPv6 by its /56 (address-group.ts). */
  readonly clientAddress: string;
}

/** Adds the client's address to the context the factory makes (the throttle keys by it). */
export function withClientAddress<C extends BaseContext>(
  factory: ContextFactory<C>,
  trustedProxyHops: number,
): ContextFactory<C & ClientAddressContext> {
  return async (req, read) => ({
    ...(await factory(req, read)),
    clientAddress: requestMeta(req, trustedProxyHops).limitedAs,
  });
}

function clientAddressOf(context: BaseContext): string {
  const address: unknown = (context as Partial<ClientAddressContext>).clientAddress;
  // Operations the gateway runs itself (subscription events) have no address; they are
  // queries, so they never get here with a credential field.
  return typeof address === 'string' ? address : 'unknown';
}

/** What became of the login answered under `responseKey`. */
export function loginOutcome(body: GraphQLResponse['body'], responseKey: string): Outcome {
  const result = body.kind === 'single' ? body.singleResult : body.initialResult;
  const errors = (result.errors ?? []).filter((e) => e.path === undefined || e.path[0] === responseKey);
  if (errors.some((e) => e.extensions?.code === ErrorCode.UNAUTHENTICATED)) return 'failed';
  if (result.data?.[responseKey]) return 'succeeded';
  return 'abandoned';
}

const ONE_CREDENTIAL_FIELD = 'Send one login or register per operation';

export function loginThrottlePlugin<C extends BaseContext>(
  throttle: LoginThrottle,
  onLimited: () => void,
): ApolloServerPlugin<C> {
  const limited = (retryAfterSeconds: number): never => {
    onLimited();
    throw rateLimitedError(retryAfterSeconds);
  };
  return {
    async requestDidStart() {
      let pending: { readonly responseKey: string; readonly attempt: LoginAttempt } | undefined;
      return {
        async didResolveOperation({ document, operation, schema, request, contextValue }) {
          if (!operation) return;
          const fields = credentialFields(document, operation);
          const [field] = fields;
          if (!field) return;
          if (fields.length > 1) {
            throw toRequestError(new AppError(ErrorCode.BAD_USER_INPUT, ONE_CREDENTIAL_FIELD));
          }
          const address = clientAddressOf(contextValue);
          if (field.name === 'register') {
            const decision = await throttle.takeRegistration(address);
            if (!decision.allowed) limited(decision.retryAfterSeconds);
            return;
          }
          const email = emailArgument(schema, operation, field.node, request.variables ?? {});
          const decision = await throttle.beginLogin(email, address);
          if (!decision.allowed) return limited(decision.retryAfterSeconds);
          pending = { responseKey: field.responseKey, attempt: decision.attempt };
        },
        async willSendResponse({ response }) {
          // A response that never comes (a crash) leaves the attempt in flight until it lapses.
          if (pending) await pending.attempt.end(loginOutcome(response.body, pending.responseKey));
        },
      };
    },
  };
}
