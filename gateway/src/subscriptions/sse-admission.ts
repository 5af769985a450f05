// Who an SSE request is, and whether its rate limit lets it in, decided from its headers before
// its body is read (auth/admission.ts, as for GraphQL over HTTP), answered as SSE answers every
// refusal, a coded JSON body (the body the client is still sending drained, bounded, so the
// answer is read: shared/http/body.ts):
//
//   an invalid or expired token     HTTP 401, code UNAUTHENTICATED; it spends its address's
//                                   limit first, as an anonymous request does (as on /graphql)
//   the rate limit spent            HTTP 429, code RATE_LIMITED, Retry-After
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Identity } from '../../../shared/auth/identity.ts';
import { refuseUnread } from '../../../shared/http/body.ts';
import { admitClient, refusalOf, type AdmissionOptions } from '../auth/admission.ts';

/** The client's identity (null: anonymous), or undefined once the request has been answered. */
export async function admitSseClient(
  req: IncomingMessage,
  res: ServerResponse,
  options: AdmissionOptions,
): Promise<{ identity: Identity | null } | undefined> {
  try {
    return { identity: await admitClient(req, options) };
  } catch (err) {
    const refusal = refusalOf(err);
    if (!refusal) throw err;
    refuseUnread(req, res, refusal.status, refusal.code, refusal.message, refusal.headers);
    return undefined;
  }
}
