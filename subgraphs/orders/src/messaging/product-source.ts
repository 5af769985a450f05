// Reads products the local copy has not seen yet straight from the products subgraph (entity
// lookup, one request for all of them). Only used on a miss; see domain/catalog.ts. The call is
// the orders service's own (no user is behind it): it carries orders' service token, which the
// products subgraph requires of every caller.
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

export function productsSubgraphSource(url: string, serviceHeaders: ServiceHeaders): ProductSource {
  return async (ids) => {
    const response = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...(await serviceHeaders('products')) },
      body: JSON.stringify({
        query: QUERY,
        variables: { representations: ids.map((id) => ({ __typename: 'Product', id })) },
      }),
      signal: AbortSignal.timeout(5000),
    });
    if (!response.ok) throw new Error(`products subgraph answered ${response.status}`);
    const body = (await response.json()) as { data?: { _entities: (ProductEntity | null)[] } };
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
  };
}
