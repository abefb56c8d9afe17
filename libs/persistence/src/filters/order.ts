import type { ObjectLiteral, SelectQueryBuilder } from 'typeorm';

/** One ORDER BY term: a column expression and its direction. */
export type OrderTerm = readonly [expression: string, direction: 'ASC' | 'DESC'];

/** Orders by the terms in turn. Postgres puts NULLs last ascending and first descending, as under Prefect. */
export function applyOrder<T extends ObjectLiteral>(
  query: SelectQueryBuilder<T>,
  terms: readonly OrderTerm[],
): SelectQueryBuilder<T> {
  return terms.reduce((q, [expression, direction]) => q.addOrderBy(expression, direction), query.orderBy());
}
