// Reads products the local copy has not seen yet straight from the products subgraph (entity
// lookup, one request for all of them). Only used on a miss; see domain/catalog.ts. The call is
// the orders service's own (no user is behind it): it carries orders' service token, which the
// products subgraph requires of every caller. With several products instances (PRODUCTS_URL
// comma-separated) each read starts at the next one and, this being a read, goes on to another
// when one cannot be reached or says it is unavailable.
import type { ServiceHeaders } from '../../../../shared/auth/service-identity.ts';
import type { FetchedProduct, ProductSource } from '../domain/catalog.ts';

const QUERY = `query($representations: [_Any!]!) {
  _entities(representations: $representations) {
    ... on Product { id sku name active price { amountCents currency } }
  }
}`;

interface ProductEntity {
  id: string;
  sku: string;
  name: string;
  active: boolean;
  price: { amountCents: number; currency: string };
}

const UNAVAILABLE_STATUSES = new Set([502, 503, 504]);

export function productsSubgraphSource(
  urls: readonly string[],
  serviceHeaders: ServiceHeaders,
): ProductSource {
  let next = 0;
  return async (ids) => {
    const start = next;
    next = (next + 1) % urls.length;
    const body = JSON.stringify({
      query: QUERY,
      variables: { representations: ids.map((id) => ({ __typename: 'Product', id })) },
    });
    let failure: unknown;
    for (let i = 0; i < urls.length; i += 1) {
      let response: Response;
      try {
        response = await fetch(urls[(start + i) % urls.length]!, {
          method: 'POST',
          headers: { 'content-type': 'application/json', ...(await serviceHeaders('products')) },
          body,
          signal: AbortSignal.timeout(5000),
        });
      } catch (error) {
        // A timeout has used up the caller's time: no other instance is tried after one.
        if (error instanceof DOMException && error.name === 'TimeoutError') throw error;
        failure = error;
        continue;
      }
      if (UNAVAILABLE_STATUSES.has(response.status)) {
        failure = new Error(`products subgraph answered ${response.status}`);
        continue;
      }
      if (!response.ok) throw new Error(`products subgraph answered ${response.status}`);
      return entities((await response.json()) as { data?: { _entities: (ProductEntity | null)[] } });
    }
    throw failure;
  };
}

function entities(body: { data?: { _entities: (ProductEntity | null)[] } }): FetchedProduct[] {
  return (body.data?._entities ?? [])
    .filter((p): p is ProductEntity => p !== null)
    .map((p): FetchedProduct => ({
      productId: p.id,
      sku: p.sku,
      name: p.name,
      active: p.active,
      priceCents: p.price.amountCents,
      currency: p.price.currency,
    }));
}
