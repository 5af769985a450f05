// What counts as a violation in one answer. A hostile request may be refused, never hurt the
// server: no 5xx outside the contract, no internal error for a client's mistake, every error
// coded (WebSocket close codes count as coded), nothing internal leaked, and an answer within
// the timeout.
import type { Outcome, Probe } from './probe.ts';
import { CLIENT_ERROR_CODES } from '../../shared/errors.ts';

export const VIOLATION_CLASSES = [
  'server-error',
  'internal-error',
  'missing-code',
  'uncontracted-code',
  'leak',
  'hung',
  'dropped',
  'process-exit',
  'heap-growth',
  'unhealthy-after',
] as const;
export type ViolationClass = (typeof VIOLATION_CLASSES)[number];

export const VIOLATION_MEANING: Readonly<Record<ViolationClass, string>> = {
  'server-error': 'HTTP 5xx outside the contract',
  'internal-error': 'INTERNAL_SERVER_ERROR (or WS close 4500/1011) for a client mistake',
  'missing-code': 'an error without extensions.code (or a refusal without a coded body)',
  'uncontracted-code': 'an extensions.code outside the API contract',
  leak: 'a stack trace, SQL, path or engine message in an answer',
  hung: 'no (complete) answer within the timeout',
  dropped: 'the connection was cut with no answer at all',
  'process-exit': 'a process of the system exited',
  'heap-growth': "a process's heap after GC grew more than the tolerance over its baseline",
  'unhealthy-after': 'the system did not answer normally after the run',
};

/** The codes a client may see (shared/errors.ts: API.md's Errors, and the APQ protocol's). */
export const CONTRACT_CODES: ReadonlySet<string> = CLIENT_ERROR_CODES;

/** Answers that may be 5xx by contract: a dependency is down. */
const UNAVAILABLE_CODES = new Set(['SERVICE_UNAVAILABLE', 'SUBGRAPH_UNAVAILABLE']);

export const LEAK_PATTERNS: readonly (readonly [string, RegExp])[] = [
  // A V8 frame: `at fn (/path/file.ts:12:5)` or `at /path/file.js:1:2`.
  ['stack trace', /\bat (?:async )?(?:[\w$.<>[\]]+ )?\(?[^\s()"']+:\d+:\d+\)?/],
  ['stack trace', /\n\s+at [\w.<>]+ /],
  ['repository path', /\/work\//],
  ['node_modules path', /node_modules/],
  ['file URL', /file:\/\//],
  ['source file', /\.(ts|js|mjs|cjs):\d+/],
  ['SQL', /\b(SELECT|INSERT|UPDATE|DELETE)\b[^"]{0,80}\b(FROM|INTO|SET)\b/],
  ['SQL', /syntax error at/],
  [
    'PostgreSQL',
    /invalid byte sequence for encoding|violates \w+ constraint|duplicate key value|relation "[^"]*" does not exist|unterminated quoted string/,
  ],
  ['engine message', /Maximum call stack/],
  [
    'engine message',
    /Unexpected token|Unexpected end of JSON|is not valid JSON|in JSON at position|Bad control character/,
  ],
  [
    'engine message',
    /Cannot read propert|is not a function|is not iterable|undefined is not|of undefined|of null/,
  ],
  ['engine message', /\b(TypeError|RangeError|ReferenceError)\b/],
  ['connection detail', /ECONNREFUSED|ECONNRESET|EPIPE|ETIMEDOUT|127\.0\.0\.1:\d+|localhost:\d+/],
];

export interface Violation {
  readonly cls: ViolationClass;
  readonly detail: string;
}

interface ErrorLike {
  message?: unknown;
  extensions?: { code?: unknown };
}

/** The `errors` of a GraphQL JSON answer, or undefined if the text is not such an answer. */
function graphqlErrors(text: string): ErrorLike[] | undefined {
  try {
    const value = JSON.parse(text) as unknown;
    if (Array.isArray(value)) return value.flatMap((item) => graphqlErrors(JSON.stringify(item)) ?? []);
    if (value && typeof value === 'object') {
      const errors = (value as { errors?: unknown; payload?: unknown; type?: unknown }).errors;
      if (Array.isArray(errors)) return errors as ErrorLike[];
      const { type, payload } = value as { type?: unknown; payload?: unknown };
      // graphql-ws: `error` carries an array of errors, `next` a result.
      if (type === 'error' && Array.isArray(payload)) return payload as ErrorLike[];
      if (type === 'next' && payload && typeof payload === 'object')
        return graphqlErrors(JSON.stringify(payload)) ?? [];
      return [];
    }
  } catch {
    return undefined;
  }
  return undefined;
}

function checkErrors(errors: readonly ErrorLike[], where: string, out: Violation[]): void {
  for (const error of errors) {
    const code = error?.extensions?.code;
    const message = typeof error?.message === 'string' ? error.message.slice(0, 200) : '';
    if (typeof code !== 'string' || code === '')
      out.push({ cls: 'missing-code', detail: `${where}: "${message}"` });
    else if (code === 'INTERNAL_SERVER_ERROR')
      out.push({ cls: 'internal-error', detail: `${where}: "${message}"` });
    else if (!CONTRACT_CODES.has(code))
      out.push({ cls: 'uncontracted-code', detail: `${where}: ${code} "${message}"` });
  }
}

function checkLeaks(text: string, out: Violation[]): void {
  for (const [name, pattern] of LEAK_PATTERNS) {
    const match = pattern.exec(text);
    if (match) {
      const at = Math.max(0, match.index - 60);
      out.push({ cls: 'leak', detail: `${name}: …${JSON.stringify(text.slice(at, match.index + 100))}…` });
      return;
    }
  }
}

export function checkOutcome(probe: Probe, outcome: Outcome): Violation[] {
  const out: Violation[] = [];
  if (outcome.hung) out.push({ cls: 'hung', detail: outcome.hung });
  if (outcome.dropped) out.push({ cls: 'dropped', detail: outcome.dropped });
  checkLeaks(`${outcome.body}\n${outcome.wsClose?.reason ?? ''}`, out);

  if (probe.transport === 'ws') {
    for (const line of outcome.body.split('\n')) {
      const errors = line.startsWith('{') ? graphqlErrors(line) : undefined;
      if (errors) checkErrors(errors, 'ws message', out);
    }
    const close = outcome.wsClose;
    if (close) {
      if (close.code === 4500 || close.code === 1011)
        out.push({ cls: 'internal-error', detail: `ws close ${close.code} "${close.reason}"` });
      else if (close.code === 1005 || close.code === 1006)
        out.push({ cls: 'missing-code', detail: `ws closed without a code (${close.code})` });
    }
    if (outcome.status !== undefined && outcome.status !== 101) checkHttpAnswer(outcome, out);
  } else if (outcome.status !== undefined) {
    // A HEAD answer has no body by definition: nothing to check beyond its status.
    checkHttpAnswer(outcome, out, probe.method !== 'HEAD');
  }
  if (outcome.followUp) {
    for (const v of checkOutcome(
      probe.transport === 'http' ? { ...probe, followUp: false } : probe,
      outcome.followUp,
    )) {
      out.push({ ...v, detail: `keep-alive follow-up: ${v.detail}` });
    }
  }
  return out;
}

function checkHttpAnswer(outcome: Outcome, out: Violation[], bodyExpected = true): void {
  const status = outcome.status!;
  if (outcome.events) {
    for (const event of outcome.events) {
      if (event.event !== 'next' || !event.data) continue;
      const errors = graphqlErrors(event.data);
      if (errors) checkErrors(errors, 'sse event', out);
      else
        out.push({
          cls: 'missing-code',
          detail: `sse event that is not JSON: ${JSON.stringify(event.data.slice(0, 120))}`,
        });
    }
    return;
  }
  const errors = graphqlErrors(outcome.body);
  if (status >= 500) {
    const codes = (errors ?? []).map((e) => e?.extensions?.code);
    const byContract =
      status === 503 &&
      codes.length > 0 &&
      codes.every((c) => typeof c === 'string' && UNAVAILABLE_CODES.has(c));
    if (!byContract)
      out.push({
        cls: 'server-error',
        detail: `HTTP ${status} ${JSON.stringify(outcome.body.slice(0, 200))}`,
      });
  }
  if (errors) checkErrors(errors, `HTTP ${status}`, out);
  if (status >= 400 && bodyExpected && (!errors || errors.length === 0)) {
    out.push({
      cls: 'missing-code',
      detail: `HTTP ${status} without coded errors: ${JSON.stringify(outcome.body.slice(0, 120))}`,
    });
  }
}
