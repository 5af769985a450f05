// What one execution for a group came to: the client's result with the hidden sequence and
// status split off, or the errors that end (or refuse) the subscription.
import { GraphQLError, type GraphQLFormattedError } from 'graphql';
import { ErrorCode } from '../../../shared/errors.ts';
import type { PreparedSubscription } from './operation.ts';

/** What a client is sent for one event: GraphQL data and already formatted (masked) errors. */
export interface LiveResult {
  readonly data?: Record<string, unknown> | null;
  readonly errors?: readonly GraphQLFormattedError[];
}

export type Shaped =
  | { readonly ok: true; readonly result: LiveResult; readonly sequence: number; readonly status: string }
  | { readonly ok: false; readonly errors: readonly GraphQLFormattedError[] };

/** A result that can be sent: its sequence and status known. */
export type ShapedResult = Extract<Shaped, { ok: true }>;

/** Where a read's order and its hidden fields are in the result. */
export type ResultKeys = Pick<PreparedSubscription, 'orderId' | 'responseKey' | 'sequenceKey' | 'statusKey'>;

/** Splits the hidden fields off the result; a null order is NOT_FOUND (missing or not yours). */
export function shape(result: LiveResult, prepared: ResultKeys): Shaped {
  const order = result.data?.[prepared.responseKey] as Record<string, unknown> | null | undefined;
  if (!order) {
    const errors = result.errors?.length
      ? result.errors
      : [{ message: `Order ${prepared.orderId} was not found`, extensions: { code: ErrorCode.NOT_FOUND } }];
    return { ok: false, errors };
  }
  const { [prepared.sequenceKey]: sequence, [prepared.statusKey]: status, ...visible } = order;
  return {
    ok: true,
    sequence: typeof sequence === 'number' ? sequence : 0,
    status: String(status),
    result: {
      data: { ...result.data, [prepared.responseKey]: visible },
      ...(result.errors?.length ? { errors: result.errors } : {}),
    },
  };
}

export function toGraphQLError(error: GraphQLFormattedError): GraphQLError {
  return new GraphQLError(error.message, { path: error.path, extensions: error.extensions });
}
