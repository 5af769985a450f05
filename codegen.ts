// GraphQL Code Generator: resolver types for every subgraph from its schema.graphql, written to
// subgraphs/<name>/src/generated/graphql.ts and checked in. `npm run codegen` writes them;
// `npm run codegen:check` (part of `npm test`) fails when a checked-in file is not what the
// schema and this file produce. Resolvers are typed `Resolvers` from their subgraph's file, so a
// field or argument renamed in a schema is a compile error, not a null at run time.
import type { CodegenConfig } from '@graphql-codegen/cli';

/**
 * What each subgraph's resolvers hand to its types' fields, where that is not the type codegen
 * writes from the schema: the entity or store row the domain returns. Paths are relative to the
 * generated file; each mapped type is imported as `<Name>Model` (mapperTypeSuffix), so a
 * mapper may name another (`Connection<OrderViewModel>`).
 */
interface Subgraph {
  /** The subgraph's context type, in its src/context.ts. */
  readonly context: string;
  readonly mappers: Readonly<Record<string, string>>;
}

const PAGINATION = '../../../../shared/graphql/pagination.ts';

/**
 * An entity another subgraph owns is, in this one, only its reference: `{ __typename, id }`,
 * what __resolveReference receives and what a field pointing at it returns.
 */
const REFERENCE = (type: string) => `FederationReferenceTypes['${type}']`;

const SUBGRAPHS: Readonly<Record<string, Subgraph>> = {
  users: {
    context: 'UsersContext',
    mappers: { User: '../domain/user-reads.store.ts#UserProfile' },
  },
  products: {
    context: 'ProductsContext',
    mappers: {
      Product: '../domain/product.entity.ts#Product',
      // `totalCount` is a function there, called only when the client asks for it.
      ProductConnection: `${PAGINATION}#Connection<ProductModel>`,
    },
  },
  inventory: {
    context: 'InventoryContext',
    mappers: { Product: REFERENCE('Product'), StockLevel: '../domain/stock.ts#StockLevel' },
  },
  orders: {
    context: 'OrdersContext',
    mappers: {
      Order: '../domain/order-reads.store.ts#OrderView',
      OrderItem: '../domain/order.entity.ts#OrderItem',
      OrderStatusChange: '../domain/order.entity.ts#OrderStatusChange',
      OrderConnection: `${PAGINATION}#Connection<OrderViewModel>`,
      User: REFERENCE('User'),
    },
  },
  payments: {
    context: 'PaymentsContext',
    mappers: {
      Payment: '../domain/payment.entity.ts#Payment',
      PaymentEvent: '../domain/payment-event.entity.ts#PaymentEvent',
      Order: REFERENCE('Order'),
    },
  },
  notifications: {
    context: 'NotificationsContext',
    mappers: {
      User: REFERENCE('User'),
      Notification: '../domain/entities.ts#Notification',
      NotificationConnection: `${PAGINATION}#Connection<NotificationModel>`,
    },
  },
};

const config: CodegenConfig = {
  overwrite: true,
  generates: Object.fromEntries(
    Object.entries(SUBGRAPHS).map(([name, subgraph]) => [
      `subgraphs/${name}/src/generated/graphql.ts`,
      {
        schema: [`subgraphs/${name}/src/schema.graphql`, 'shared/graphql/federation-directives.graphql'],
        plugins: ['typescript', 'typescript-resolvers'],
        config: { contextType: `../context.ts#${subgraph.context}`, mappers: subgraph.mappers },
      },
    ]),
  ),
  config: {
    // __resolveReference for every resolvable @key, with the reference's key fields as its type.
    federation: true,
    // erasableSyntaxOnly: TypeScript enums are not erasable; string unions are.
    enumsAsTypes: true,
    // verbatimModuleSyntax: type-only imports must say so.
    useTypeImports: true,
    mapperTypeSuffix: 'Model',
    // A scalar without a type here fails generation instead of becoming `any`.
    strictScalars: true,
    // shared/graphql/scalars.ts: a Date inside, an ISO-8601 string on the wire.
    scalars: { DateTime: 'Date' },
  },
};

export default config;
