// Resuming a subscription: `orderStatusChanged(orderId, afterSequence)` asks for every status
// change after a sequence the client already saw (then the live ones) instead of the current
// state first. Which sequences a resuming subscriber is owed, decided from the order's current
// state once it has been read as the subscriber.
/** After one of these the order changes no more, and its stream completes. */
export const TERMINAL_STATUSES: ReadonlySet<string> = new Set(['DELIVERED', 'CANCELLED']);

export const AFTER_SEQUENCE_ARGUMENT = 'afterSequence';

export type ResumePlan =
  /** A sequence the order never had: BAD_USER_INPUT. */
  | { readonly kind: 'refuse'; readonly message: string }
  /** The order already ended at that sequence: nothing more will come. */
  | { readonly kind: 'complete' }
  /** Treat the subscriber as having been sent `last`: every later change follows, in order. */
  | { readonly kind: 'follow'; readonly last: number };

/** Why `afterSequence` can name no change of any order, or undefined when it can. */
export function invalidAfterSequence(afterSequence: number): string | undefined {
  return Number.isInteger(afterSequence) && afterSequence >= 0
    ? undefined
    : `${AFTER_SEQUENCE_ARGUMENT} must be a statusSequence already seen (0 or more)`;
}

export function planResume(
  afterSequence: number,
  current: { readonly sequence: number; readonly status: string },
): ResumePlan {
  const invalid = invalidAfterSequence(afterSequence);
  if (invalid) return { kind: 'refuse', message: invalid };
  if (afterSequence > current.sequence) {
    return {
      kind: 'refuse',
      message: `${AFTER_SEQUENCE_ARGUMENT} ${afterSequence} is beyond the order's current statusSequence ${current.sequence}`,
    };
  }
  if (afterSequence === current.sequence && TERMINAL_STATUSES.has(current.status))
    return { kind: 'complete' };
  return { kind: 'follow', last: afterSequence };
}
