// The smallest GraphQL-over-HTTP client the scripts need (demo seeding, `npm run demo`): one POST,
// the data back, or an error that carries each GraphQL error's `extensions.code`. Refused for the
// rate limit, it waits as long as the gateway says and asks again, as a well-behaved client does
// (seeding is a burst of admin requests, and may run again soon after a previous seed).

export interface GraphQLErrorEntry {
  readonly message: string;
  readonly extensions?: { readonly code?: string; readonly retryAfterSeconds?: number };
}

/** How often one request is asked again after RATE_LIMITED before the error is the answer. */
const RATE_LIMITED_ATTEMPTS = 5;
/** A longer wait (a login throttle's lock, say) is the answer, not something to sit out. */
const RATE_LIMITED_LONGEST_WAIT_SECONDS = 10;

export class GraphQLRequestError extends Error {
  readonly errors: readonly GraphQLErrorEntry[];
  constructor(errors: readonly GraphQLErrorEntry[]) {
    super(errors.map((e) => `${e.message} (${e.extensions?.code ?? 'no code'})`).join('; '));
    this.name = 'GraphQLRequestError';
    this.errors = errors;
  }

  /** The `extensions.code` of every error. */
  get codes(): string[] {
    return this.errors.map((e) => e.extensions?.code ?? '');
  }

  /** When the only refusal is the rate limit: how long the gateway asks to wait. */
  get retryAfterSeconds(): number | undefined {
    if (this.errors.length === 0 || !this.errors.every((e) => e.extensions?.code === 'RATE_LIMITED'))
      return undefined;
    return Math.max(...this.errors.map((e) => e.extensions?.retryAfterSeconds ?? 1));
  }
}

export async function graphql<T>(
  url: string,
  query: string,
  variables: Record<string, unknown> = {},
  token?: string,
): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await graphqlOnce<T>(url, query, variables, token);
    } catch (error) {
      const wait = error instanceof GraphQLRequestError ? error.retryAfterSeconds : undefined;
      if (wait === undefined || wait > RATE_LIMITED_LONGEST_WAIT_SECONDS || attempt >= RATE_LIMITED_ATTEMPTS)
        throw error;
      await new Promise((resolve) => setTimeout(resolve, wait * 1000));
    }
  }
}

async function graphqlOnce<T>(
  url: string,
  query: string,
  variables: Record<string, unknown>,
  token: string | undefined,
): Promise<T> {
  const response = await fetch(url, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      ...(token ? { authorization: `Bearer ${token}` } : {}),
    },
    body: JSON.stringify({ query, variables }),
  });
  const body = (await response.json().catch(() => {
    throw new Error(`${url} answered HTTP ${response.status} without a JSON body`);
  })) as { data?: T | null; errors?: GraphQLErrorEntry[] };
  if (body.errors?.length || !body.data) throw new GraphQLRequestError(body.errors ?? []);
  return body.data;
}
