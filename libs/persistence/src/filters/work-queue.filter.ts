import type { WorkQueueFilter } from '@app/contracts';
import { Criteria, QueryParameters } from './criteria';

/** Prefect's `WorkQueueFilter` over the work queue row aliased `queue`. */
export function workQueueFilterSql(filter: WorkQueueFilter, queue: string, params: QueryParameters): string {
  const criteria = () => new Criteria(params);
  return criteria()
    .when(filter.id, (id) => criteria().anyOf(`${queue}.id`, id.any_).sql())
    .when(filter.name, (name) =>
      criteria().anyOf(`${queue}.name`, name.any_).startsWithAny(`${queue}.name`, name.startswith_).sql(),
    )
    .sql(filter.operator);
}
