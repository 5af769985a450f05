import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { describe, expect, it } from '@jest/globals';
import { parse } from 'yaml';
import { DEFAULT_PORTS, REPO_ROOT, SUBGRAPHS, schemaFile } from '../scripts/lib/services.ts';

interface RoverConfig {
  federation_version: string;
  subgraphs: Record<string, { routing_url: string; schema: { file: string } }>;
}

const config = parse(readFileSync(path.join(REPO_ROOT, 'rover-config.yaml'), 'utf8')) as RoverConfig;

function installedCompositionVersion(): string {
  const require = createRequire(path.join(REPO_ROOT, 'package.json'));
  const pkg = require('@apollo/composition/package.json') as { version: string };
  return pkg.version;
}

/** [major, minor] of "2.14.4" or "v2.14". */
function majorMinor(version: string): [number, number] {
  const match = /^v?(\d+)\.(\d+)/.exec(version);
  if (!match) throw new Error(`not a version: ${version}`);
  return [Number(match[1]), Number(match[2])];
}

describe('rover-config.yaml', () => {
  it('names exactly the subgraphs the project has', () => {
    expect(Object.keys(config.subgraphs).sort()).toEqual([...SUBGRAPHS].sort());
  });

  it.each(SUBGRAPHS)('routes %s to its default port at /graphql', (name) => {
    const url = new URL(config.subgraphs[name]!.routing_url);
    expect(Number(url.port)).toBe(DEFAULT_PORTS[name]);
    expect(url.pathname).toBe('/graphql');
  });

  it.each(SUBGRAPHS)('points %s at its schema file, which exists', (name) => {
    const file = config.subgraphs[name]!.schema.file;
    expect(path.normalize(file)).toBe(path.normalize(schemaFile(name)));
    expect(existsSync(path.join(REPO_ROOT, file))).toBe(true);
  });

  it('pins the federation version of the installed @apollo/composition', () => {
    expect(config.federation_version).toBe(`=${installedCompositionVersion()}`);
  });

  it.each(SUBGRAPHS)('%s links a federation version composition supports', (name) => {
    const sdl = readFileSync(path.join(REPO_ROOT, schemaFile(name)), 'utf8');
    const links = [...sdl.matchAll(/specs\.apollo\.dev\/federation\/(v\d+\.\d+)/g)].map((m) => m[1]!);
    expect(links).toHaveLength(1);
    const [major, minor] = majorMinor(links[0]!);
    const [maxMajor, maxMinor] = majorMinor(installedCompositionVersion());
    expect(major).toBe(maxMajor);
    expect(minor).toBeLessThanOrEqual(maxMinor);
  });
});
