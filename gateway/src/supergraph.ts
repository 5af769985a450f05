// The supergraph the gateway serves: an SDL file composed by `npm run compose` (or any file
// given by SUPERGRAPH_PATH). Its subgraph URLs can be overridden per subgraph by name.
import { readFile } from 'node:fs/promises';
import { ConfigError } from '../../shared/config.ts';

export async function readSupergraph(file: string): Promise<string> {
  let sdl: string;
  try {
    sdl = await readFile(file, 'utf8');
  } catch (err) {
    const reason = (err as NodeJS.ErrnoException).code ?? String(err);
    throw new ConfigError(
      `SUPERGRAPH_PATH: cannot read ${file} (${reason}); run "npm run compose" to create it`,
    );
  }
  if (!/@join__graph\s*\(/.test(sdl)) {
    throw new ConfigError(`SUPERGRAPH_PATH: ${file} is not a composed supergraph (no @join__graph)`);
  }
  return sdl;
}
