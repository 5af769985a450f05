// The smallest GraphQL-over-HTTP client the scripts need (demo seeding, `npm run demo`): one POST,
// the data back, or an error that carries each GraphQL error's `extensions.code`.

export interface GraphQLErrorEntry {
  readonly message: string;
  readonly extensions?: { readonly code?: string };
}

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
}

export async function graphql<T>(
  url: string,
  query: string,
  variables: Record<string, unknown> = {},
  token?: string,
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
