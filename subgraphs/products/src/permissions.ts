// Who may read and do what in the products subgraph. Deny is the fallback, so a new field is
// private until a rule here says otherwise. The catalogue is public; changing it is for
// administrators. (Which products `products` lists depends on the caller: see the resolver.)
import { allow, deny } from '../../../shared/auth/shield.ts';
import { isAdmin } from '../../../shared/auth/rules.ts';

export const permissions = {
  Query: {
    '*': deny,
    _service: allow,
    // A product is public whichever way it is reached.
    _entities: allow,
    product: allow,
    products: allow,
  },
  Mutation: { '*': deny, createProduct: isAdmin, updateProduct: isAdmin },
  Product: allow,
  Money: allow,
  ProductConnection: allow,
  ProductEdge: allow,
  PageInfo: allow,
  _Service: allow,
};
