// Who may read and do what in the inventory subgraph. Deny is the fallback, so a new field is
// private until a rule here says otherwise. Stock levels are public; setting them is not.
import { allow, deny } from '../../../shared/auth/shield.ts';
import { isAdmin } from '../../../shared/auth/rules.ts';

export const permissions = {
  Query: {
    '*': deny,
    _service: allow,
    // Product.stock is public, whoever resolves the reference.
    _entities: allow,
  },
  Mutation: { '*': deny, setStock: isAdmin },
  Product: allow,
  StockLevel: allow,
  _Service: allow,
};
