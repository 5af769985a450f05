// Turns the rows PostgreSQL returns for a store statement (column names, values as the driver
// parses them) into what the entities say: property names and their types. It does what
// MikroORM's Kysely plugin does to a result, but with the lookup built once from the metadata
// instead of on every statement (the plugin builds it per query, from the tables the query
// names). Columns no entity has (an alias such as a sum) are left as they are, except a JSON array
// of rows (a nested select aggregated with Kysely's `jsonArrayFrom`), whose rows are mapped the
// same way; a column name two of a store's entities share (`order_id`, `status`) maps as the first
// one says, so such columns must mean the same in both.
import type { EntityManager, EntityMetadata, EntityName, EntityProperty } from '@mikro-orm/postgresql';

type Convert = (value: unknown) => unknown;

interface Column {
  readonly name: string;
  readonly convert: Convert | undefined;
}

export class RowMapper {
  readonly #columns = new Map<string, Column>();

  constructor(em: EntityManager, entities: readonly EntityName[]) {
    const platform = em.getPlatform();
    for (const entity of entities) {
      const meta: EntityMetadata = em.getMetadata(entity);
      for (const prop of meta.props) {
        for (const field of prop.fieldNames ?? []) {
          if (!this.#columns.has(field))
            this.#columns.set(field, { name: prop.name, convert: converter(prop) });
        }
      }
    }

    /** As the plugin's `prepareOutputValue`: the entity's type, else booleans and dates. */
    function converter(prop: EntityProperty): Convert | undefined {
      const type = prop.customType;
      if (type !== undefined) return (value): unknown => type.convertToJSValue(value, platform);
      if (prop.runtimeType === 'boolean') return (value) => !!value;
      if (prop.runtimeType === 'Date' && !platform.isNumericProperty(prop)) {
        const tz = platform.getTimezone();
        const zoned = (value: unknown) =>
          typeof value === 'number' ||
          (typeof value === 'string' &&
            (value.includes('+') || value.lastIndexOf('-') > 10 || value.endsWith('Z')));
        return (value) =>
          value instanceof Date
            ? value
            : platform.parseDate(
                !tz || tz === 'local' || zoned(value) ? (value as string) : `${value as string}${tz}`,
              );
      }
      return undefined;
    }
  }

  map(rows: readonly Record<string, unknown>[]): Record<string, unknown>[] {
    return rows.map((row) => {
      const mapped: Record<string, unknown> = {};
      for (const key in row) {
        const value = row[key];
        const column = this.#columns.get(key);
        if (column === undefined) mapped[key] = isRowArray(value) ? this.map(value) : value;
        else
          mapped[column.name] = value == null || column.convert === undefined ? value : column.convert(value);
      }
      return mapped;
    });
  }
}

/**
 * A JSON array of objects, as `json_agg` of a nested select returns it (the values inside as JSON
 * has them, which the columns' conversions accept). Only plain objects: an array the driver
 * parsed from a PostgreSQL array (of dates, say) is a value.
 */
function isRowArray(value: unknown): value is Record<string, unknown>[] {
  if (!Array.isArray(value)) return false;
  for (const item of value) {
    if (typeof item !== 'object' || item === null || Object.getPrototypeOf(item) !== Object.prototype)
      return false;
  }
  return true;
}
