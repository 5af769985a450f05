// The environment of the system's processes: what every one shares (where the subgraphs are,
// the service secret) and each one's own on top of it.
import path from 'node:path';
import { REPO_ROOT, SUBGRAPH_URL_ENV, isSubgraph, withHeapLimit } from './services.ts';
import { generateServiceSecret } from '../../shared/auth/service-identity.ts';
import type { ManagedProcess } from './managed-process.ts';
import type { Env, StartSystemOptions } from './processes.ts';

/** The environment every process shares, and each one's own on top of it. */
export function environments(
  processes: readonly ManagedProcess[],
  options: StartSystemOptions,
): { common: Env; envOf: (p: ManagedProcess) => Env } {
  const base = mergeEnv(process.env, options.env);
  const users = processes.find((p) => p.name === 'users' && p.instance === 1);
  // Every process learns where the subgraphs are, every instance of each (comma-separated): the
  // gateway spreads its calls over them, and orders reads products it has not seen yet from the
  // products subgraph.
  const subgraphUrlEnv: Record<string, string> = {};
  for (const sub of processes) {
    if (!isSubgraph(sub.name)) continue;
    const variable = SUBGRAPH_URL_ENV[sub.name];
    subgraphUrlEnv[variable] = [subgraphUrlEnv[variable], sub.graphqlUrl].filter(Boolean).join(',');
  }
  const common = mergeEnv(base, {
    APOLLO_TELEMETRY_DISABLED: base.APOLLO_TELEMETRY_DISABLED ?? 'true',
    // Node keeps the code it compiled for each module on disk, so a process started again (a
    // supervised restart, the next `npm start`) skips compiling its modules, as the Dockerfile's
    // processes do.
    NODE_COMPILE_CACHE: base.NODE_COMPILE_CACHE ?? path.join(REPO_ROOT, '.cache', 'node-compile'),
    // Subgraphs take GraphQL only from services holding this secret (shared/auth/service-identity.ts):
    // a random one per system unless one is given, so it is enforced in development and tests too.
    SERVICE_SECRET: base.SERVICE_SECRET ?? generateServiceSecret(),
    ...(users ? { USERS_JWKS_URL: `${users.baseUrl}/.well-known/jwks.json` } : {}),
    ...subgraphUrlEnv,
  });
  const envOf = (p: ManagedProcess): Env => {
    const own: Record<string, string | undefined> = { PORT: String(p.port) };
    if (p.name === 'gateway' && options.supergraphPath) own.SUPERGRAPH_PATH = options.supergraphPath;
    const env = mergeEnv(common, own, options.processEnv?.[p.name]);
    return mergeEnv(env, { NODE_OPTIONS: withHeapLimit(env.NODE_OPTIONS, p.name) });
  };
  return { common, envOf };
}

function mergeEnv(...layers: (Env | undefined)[]): Env {
  const merged: Record<string, string | undefined> = {};
  for (const layer of layers) {
    if (!layer) continue;
    for (const [key, value] of Object.entries(layer)) {
      if (value === undefined) delete merged[key];
      else merged[key] = value;
    }
  }
  return merged;
}
