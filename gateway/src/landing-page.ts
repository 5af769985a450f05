// What Apollo Sandbox opens with at http://localhost:4000/graphql: a document of named example
// operations that walk through the system (sign in, browse, order, watch it live, ship and
// deliver as an administrator) and an empty Authorization header to paste a token into.
//
// Sandbox runs queries and mutations from our page with fetch, and subscriptions from our page
// with a graphql-ws client whose connection parameters are these same headers; the gateway takes
// `Authorization` from either (gateway/src/subscriptions/websocket.ts), at the same URL.

import type { ApolloServerPluginLandingPageLocalDefaultOptions } from '@apollo/server/plugin/landingPage/default';
import { DEMO_CUSTOMER } from '../../shared/demo.ts';

/** The names of the example operations, in the order a newcomer runs them. */
export const EXAMPLE_OPERATION_NAMES = [
  'SignIn',
  'BrowseCatalogue',
  'PlaceOrder',
  'WatchOrder',
  'SignInAsAdmin',
  'ShipOrder',
  'DeliverOrder',
] as const;

export const EXAMPLE_DOCUMENT = `# Welcome to the order supergraph. Pick an operation with the Run button's menu, top to bottom.
#
# 1. SignIn as the demo customer (npm start seeds it in development), then paste
#    "Bearer " followed by the token into the Authorization header below.
mutation SignIn {
  login(email: "${DEMO_CUSTOMER.email}", password: "${DEMO_CUSTOMER.password}") {
    token
    expiresAt
    user { id email role }
  }
}

# 2. The catalogue is public. Copy a product id into the productId variable.
query BrowseCatalogue {
  products(filter: { category: "coffee" }, first: 10) {
    totalCount
    edges { node { id sku name price { amountCents currency } stock { available reserved } } }
  }
}

# 3. Place an order as the customer. "pm_card_chargeDeclined" instead of "pm_card_visa" shows
#    a declined payment and its compensation. Copy the order id into the orderId variable.
mutation PlaceOrder($productId: ID!) {
  placeOrder(input: { items: [{ productId: $productId, quantity: 1 }], paymentMethod: "pm_card_visa" }) {
    id
    status
    total { amountCents currency }
  }
}

# 4. Watch it live over graphql-ws: the current state first, then every change until it is
#    DELIVERED or CANCELLED. Any field of the supergraph may be selected.
subscription WatchOrder($orderId: ID!) {
  orderStatusChanged(orderId: $orderId) {
    status
    statusSequence
    failureReason
    payment { status }
    items { quantity product { name } }
  }
}

# 5. Sign in as the development administrator (npm start prints ADMIN_EMAIL / ADMIN_PASSWORD)
#    and put that token in the Authorization header.
mutation SignInAsAdmin {
  login(email: "admin@example.com", password: "admin-password") { token }
}

# 6. Ship the CONFIRMED order, then deliver it: WatchOrder shows both and completes.
mutation ShipOrder($orderId: ID!) {
  shipOrder(id: $orderId) { id status }
}

mutation DeliverOrder($orderId: ID!) {
  deliverOrder(id: $orderId) { id status history { status at } }
}
`;

/** The landing page's options for ApolloServerPluginLandingPageLocalDefault. */
export function landingPageOptions(): ApolloServerPluginLandingPageLocalDefaultOptions {
  return {
    embed: true,
    includeCookies: false,
    document: EXAMPLE_DOCUMENT,
    variables: { productId: 'an id from BrowseCatalogue', orderId: 'the id from PlaceOrder' },
    // Empty: sent as no token at all (anonymous) until a token is pasted in.
    headers: { Authorization: '' },
  };
}
