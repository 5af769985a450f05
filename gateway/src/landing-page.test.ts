// The Sandbox's example document is valid against the supergraph as composed today, so a renamed
// field or argument breaks this test instead of the first thing a newcomer runs.
import { describe, expect, it } from '@jest/globals';
import { composeServices } from '@apollo/composition';
import { buildSchema, Kind, parse, print, validate } from 'graphql';
import { readSubgraphSchemas } from '../../scripts/compose-supergraph.ts';
import { defaultSubgraphUrls, SUBGRAPHS } from '../../scripts/lib/services.ts';
import { EXAMPLE_DOCUMENT, EXAMPLE_OPERATION_NAMES, landingPageOptions } from './landing-page.ts';

async function apiSchema() {
  const sdls = await readSubgraphSchemas();
  const urls = defaultSubgraphUrls();
  const result = composeServices(
    SUBGRAPHS.map((name) => ({ name, url: urls[name], typeDefs: parse(sdls[name]) })),
  );
  if (result.errors) throw new Error(result.errors.map(String).join('\n'));
  return buildSchema(print(result.schema.toAPISchema().toAST()));
}

describe('the Sandbox example document', () => {
  it('holds the named operations, in order, each valid against the supergraph', async () => {
    const document = parse(EXAMPLE_DOCUMENT);
    const names = document.definitions.map((d) =>
      d.kind === Kind.OPERATION_DEFINITION ? d.name?.value : d.kind,
    );
    expect(names).toEqual([...EXAMPLE_OPERATION_NAMES]);
    expect(validate(await apiSchema(), document).map((e) => e.message)).toEqual([]);
  });

  it('holds no character that could end the inline script Apollo Server writes it into', () => {
    // Apollo Server escapes only the first "<", ">" and "&" of the options it inlines.
    expect(EXAMPLE_DOCUMENT).not.toMatch(/[<>&]/);
  });

  it('is what the landing page is given, with an Authorization header to fill in', () => {
    const options = landingPageOptions();
    expect(options).toMatchObject({
      embed: true,
      document: EXAMPLE_DOCUMENT,
      headers: { Authorization: '' },
    });
  });
});
