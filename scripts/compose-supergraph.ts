// Composes the six subgraph schema files into gateway/supergraph.graphql (`npm run compose`).
// `--check` (`npm run check:compose`) instead asks the running subgraphs for their SDL
// (`{ _service { sdl } }`) and verifies it composes to the same supergraph as the files. The
// subgraphs answer only services: the check signs a service token with SERVICE_SECRET, or with
// the secret `npm start` wrote to .data/service-secret.

import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { composeServices } from '@apollo/composition';
import { Source, parse } from 'graphql';
import { createServiceHeaders, type ServiceHeaders } from '../shared/auth/service-identity.ts';
import {
  DEFAULT_DATA_DIR,
  DEFAULT_SUPERGRAPH_PATH,
  SERVICE_SECRET_FILE,
  REPO_ROOT,
  SUBGRAPHS,
  SUBGRAPH_URL_ENV,
  defaultSubgraphUrls,
  schemaFile,
  type SubgraphName,
} from './lib/services.ts';

export type SubgraphSdls = Record<SubgraphName, string>;
export type SubgraphUrls = Record<SubgraphName, string>;

export class CompositionError extends Error {
  override name = 'CompositionError';
  readonly errors: readonly string[];

  constructor(errors: readonly string[]) {
    super(`Supergraph composition failed:\n${errors.map((e) => `  - ${e}`).join('\n')}`);
    this.errors = errors;
  }
}

/** Reads every subgraph's schema file. A missing file is a clear error naming it. */
export async function readSubgraphSchemas(root = REPO_ROOT): Promise<SubgraphSdls> {
  const results = await Promise.allSettled(
    SUBGRAPHS.map((name) => readFile(path.join(root, schemaFile(name)), 'utf8')),
  );
  const problems = results.flatMap((result, i) =>
    result.status === 'rejected'
      ? [`cannot read ${schemaFile(SUBGRAPHS[i]!)}: ${(result.reason as Error).message}`]
      : [],
  );
  if (problems.length > 0) throw new CompositionError(problems);
  return Object.fromEntries(
    results.map((result, i) => [SUBGRAPHS[i], (result as PromiseFulfilledResult<string>).value]),
  ) as SubgraphSdls;
}

/** Composes SDLs into a supergraph SDL; throws CompositionError listing every problem. */
export function composeSdls(sdls: SubgraphSdls, urls: Partial<SubgraphUrls> = {}): string {
  const routing = { ...defaultSubgraphUrls(), ...urls };
  const parseErrors: string[] = [];
  const services = SUBGRAPHS.flatMap((name) => {
    try {
      return [{ name, url: routing[name], typeDefs: parse(new Source(sdls[name], schemaFile(name))) }];
    } catch (error) {
      parseErrors.push(`${name}: ${(error as Error).message}`);
      return [];
    }
  });
  if (parseErrors.length > 0) throw new CompositionError(parseErrors);
  const result = composeServices(services);
  if (result.errors) {
    throw new CompositionError(result.errors.map((error) => error.toString()));
  }
  return result.supergraphSdl;
}

/** The supergraph composed from the schema files, routed to `urls` (default: the fixed ports). */
export async function composeSupergraph(urls: Partial<SubgraphUrls> = {}): Promise<string> {
  return composeSdls(await readSubgraphSchemas(), urls);
}

export interface WriteResult {
  readonly path: string;
  /** false when the file already held exactly this supergraph */
  readonly changed: boolean;
}

/** Composes the files and writes the supergraph, touching the file only when it changes. */
export async function writeSupergraph(file = DEFAULT_SUPERGRAPH_PATH): Promise<WriteResult> {
  const sdl = await composeSupergraph();
  const current = await readFile(file, 'utf8').catch(() => undefined);
  if (current === sdl) return { path: file, changed: false };
  await writeFile(file, sdl);
  return { path: file, changed: true };
}

/** Asks one running subgraph for its SDL through the federation `_service` field. */
export async function fetchSubgraphSdl(
  url: string,
  timeoutMs = 5000,
  headers: Record<string, string> = {},
): Promise<string> {
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'apollo-require-preflight': 'true', ...headers },
    body: JSON.stringify({ query: '{ _service { sdl } }' }),
    signal: AbortSignal.timeout(timeoutMs),
  });
  const body = (await response.json()) as {
    data?: { _service?: { sdl?: string } };
    errors?: { message: string }[];
  };
  const sdl = body.data?._service?.sdl;
  if (!sdl) {
    const reason = body.errors?.map((e) => e.message).join('; ') ?? `HTTP ${response.status}`;
    throw new Error(`${url} returned no _service.sdl: ${reason}`);
  }
  return sdl;
}

export interface CheckResult {
  readonly ok: boolean;
  /** Subgraphs whose running schema alone changes the composed supergraph. */
  readonly differing: readonly SubgraphName[];
}

/**
 * Verifies that the running subgraphs compose to the same supergraph as the schema files.
 * `urls` are where the running subgraphs answer (default: the gateway's *_URL variables, or
 * the fixed ports); both sides are composed with the default routing URLs so only schemas count.
 */
export async function checkRunningSubgraphs(
  urls: Partial<SubgraphUrls> = {},
  serviceHeaders?: ServiceHeaders,
): Promise<CheckResult> {
  const headersOf = serviceHeaders ?? createServiceHeaders(await localServiceSecret(), 'compose-check');
  const targets: SubgraphUrls = { ...defaultSubgraphUrls(), ...urlsFromEnv(), ...urls };
  const files = await readSubgraphSchemas();
  const running = Object.fromEntries(
    await Promise.all(
      SUBGRAPHS.map(
        async (name) => [name, await fetchSubgraphSdl(targets[name], 5000, await headersOf(name))] as const,
      ),
    ),
  ) as SubgraphSdls;
  const expected = composeSdls(files);
  if (composeSdls(running) === expected) return { ok: true, differing: [] };
  const differing = SUBGRAPHS.filter((name) => {
    try {
      return composeSdls({ ...files, [name]: running[name] }) !== expected;
    } catch {
      return true;
    }
  });
  return { ok: false, differing };
}

/** SERVICE_SECRET, else the one the running `npm start` wrote, else none. */
async function localServiceSecret(): Promise<string | undefined> {
  const given = process.env.SERVICE_SECRET?.trim();
  if (given) return given;
  const written = await readFile(path.join(DEFAULT_DATA_DIR, SERVICE_SECRET_FILE), 'utf8').catch(() => '');
  return written.trim() || undefined;
}

function urlsFromEnv(env: NodeJS.ProcessEnv = process.env): Partial<SubgraphUrls> {
  return Object.fromEntries(
    SUBGRAPHS.flatMap((name) => {
      // Several instances (comma-separated) serve one schema: the first one is asked.
      const value = env[SUBGRAPH_URL_ENV[name]]?.split(',')[0]?.trim();
      return value ? [[name, value]] : [];
    }),
  );
}

async function main(argv: readonly string[]): Promise<number> {
  try {
    if (argv.includes('--check')) {
      const result = await checkRunningSubgraphs();
      if (result.ok) {
        console.log('The running subgraphs compose to the same supergraph as the schema files.');
        return 0;
      }
      console.error(
        `The running subgraphs differ from their schema files: ${result.differing.join(', ') || 'in combination'}.`,
      );
      return 1;
    }
    const { path: file, changed } = await writeSupergraph();
    console.log(`${changed ? 'Wrote' : 'Up to date:'} ${path.relative(process.cwd(), file) || file}`);
    return 0;
  } catch (error) {
    console.error(error instanceof Error ? error.message : String(error));
    return 1;
  }
}

if (import.meta.main) {
  process.exitCode = await main(process.argv.slice(2));
}
