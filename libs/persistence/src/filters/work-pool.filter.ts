import type { WorkPoolFilter } from '@app/contracts';
import { Criteria, QueryParameters } from './criteria';

/** Prefect's `WorkPoolFilter` over the work pool row aliased `pool`. */
export function workPoolFilterSql(filter: WorkPoolFilter, pool: string, params: QueryParameters): string {
  const criteria = () => new Criteria(params);
  return criteria()
    .when(filter.id, (id) => criteria().anyOf(`${pool}.id`, id.any_).sql())
    .when(filter.name, (name) => criteria().anyOf(`${pool}.name`, name.any_).sql())
    .when(filter.type, (type) => criteria().anyOf(`${pool}.type`, type.any_).sql())
    .sql(filter.operator);
}
