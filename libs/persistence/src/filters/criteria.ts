import type { FilterOperator } from '@app/contracts';

/** Collects the values bound into one query and hands out their placeholders: no value is ever spliced into SQL. */
export class QueryParameters {
  readonly values: Record<string, unknown> = {};
  private count = 0;

  bind(value: unknown): string {
    const name = `filter_${this.count++}`;
    this.values[name] = value;
    return `:${name}`;
  }
}

/** Escapes LIKE's wildcards (`%`, `_`) and its escape character so that `text` matches only itself. */
export function escapeLike(text: string): string {
  return text.replace(/[\\%_]/g, (c) => `\\${c}`);
}

/**
 * The criteria of one Prefect filter model, compiled to SQL over bound parameters. Like Prefect's
 * `as_sql_filter`, a model without criteria is `TRUE`, and the model's `operator` joins what it has.
 * Each method adds its criterion only when the value is given (not null/undefined); an empty list is given.
 */
export class Criteria {
  private readonly parts: string[] = [];

  constructor(private readonly params: QueryParameters) {}

  sql(operator: FilterOperator = 'and_'): string {
    if (this.parts.length === 0) return 'TRUE';
    if (this.parts.length === 1) return this.parts[0];
    return `(${this.parts.join(operator === 'or_' ? ' OR ' : ' AND ')})`;
  }

  /** Adds the SQL `build` makes of `value`, when given. */
  when<T>(value: T | null | undefined, build: (value: T) => string): this {
    if (value !== null && value !== undefined) this.parts.push(`(${build(value)})`);
    return this;
  }

  /** `= ANY` keeps one parameter per list, is index-friendly, and is FALSE for an empty list (Prefect's `in_([])`). */
  anyOf(column: string, values: readonly string[] | null | undefined): this {
    return this.when(values, (list) => `${column} = ANY(${this.params.bind(list)})`);
  }

  /** TRUE for an empty list; a NULL column never matches a non-empty one (SQL's `NOT IN`, as Prefect). */
  noneOf(column: string, values: readonly string[] | null | undefined): this {
    return this.when(values, (list) => `${column} <> ALL(${this.params.bind(list)})`);
  }

  isNull(column: string, isNull: boolean | null | undefined): this {
    return this.when(isNull, (flag) => `${column} IS ${flag ? '' : 'NOT '}NULL`);
  }

  /** Prefect's `like_`: a case-insensitive substring match. */
  contains(column: string, text: string | null | undefined): this {
    return this.when(text, (t) => `${column} ILIKE ${this.params.bind(`%${escapeLike(t)}%`)} ESCAPE '\\'`);
  }

  /** Case-insensitive prefix match on any of the given prefixes (FALSE for none). */
  startsWithAny(column: string, prefixes: readonly string[] | null | undefined): this {
    return this.when(prefixes, (list) =>
      list.length === 0
        ? 'FALSE'
        : list
            .map((prefix) => `${column} ILIKE ${this.params.bind(`${escapeLike(prefix)}%`)} ESCAPE '\\'`)
            .join(' OR '),
    );
  }

  /** Inclusive upper bound. */
  atOrBefore(column: string, instant: Date | null | undefined): this {
    return this.when(instant, (t) => `${column} <= ${this.params.bind(t)}`);
  }

  /** Inclusive lower bound. */
  atOrAfter(column: string, instant: Date | null | undefined): this {
    return this.when(instant, (t) => `${column} >= ${this.params.bind(t)}`);
  }

  /** A jsonb array of tags holding every given tag (`@>`: served by a GIN index on the column). */
  hasAllTags(column: string, tags: readonly string[] | null | undefined): this {
    return this.when(tags, (list) => `${column} @> CAST(${this.params.bind(JSON.stringify(list))} AS jsonb)`);
  }

  /** A jsonb array of tags holding at least one given tag (`?|`: served by a GIN index on the column). */
  hasAnyTag(column: string, tags: readonly string[] | null | undefined): this {
    return this.when(tags, (list) => `${column} ?| CAST(${this.params.bind(list)} AS text[])`);
  }

  /** Prefect's tags `is_null_`: the array is (or is not) empty. */
  hasNoTags(column: string, isNull: boolean | null | undefined): this {
    return this.when(isNull, (flag) => `${column} ${flag ? '=' : '<>'} CAST('[]' AS jsonb)`);
  }
}
