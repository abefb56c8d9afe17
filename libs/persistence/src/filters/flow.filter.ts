import type { FlowFilter, FlowSort } from '@app/contracts';
import { Criteria, QueryParameters } from './criteria';
import type { OrderTerm } from './order';

/** Prefect's `FlowFilter` over the flow row aliased `flow`. */
export function flowFilterSql(filter: FlowFilter, flow: string, params: QueryParameters): string {
  const criteria = () => new Criteria(params);
  return criteria()
    .when(filter.id, (id) => criteria().anyOf(`${flow}.id`, id.any_).noneOf(`${flow}.id`, id.not_any_).sql())
    .when(filter.deployment, (deployment) =>
      criteria()
        .when(
          deployment.is_null_,
          (isNull) =>
            `${isNull ? 'NOT ' : ''}EXISTS (SELECT 1 FROM deployment flow_deployment WHERE flow_deployment.flow_id = ${flow}.id)`,
        )
        .sql(deployment.operator),
    )
    .when(filter.name, (name) => criteria().anyOf(`${flow}.name`, name.any_).contains(`${flow}.name`, name.like_).sql())
    .when(filter.tags, (tags) =>
      criteria().hasAllTags(`${flow}.tags`, tags.all_).hasNoTags(`${flow}.tags`, tags.is_null_).sql(tags.operator),
    )
    .sql(filter.operator);
}

export function flowOrder(sort: FlowSort, flow: string): OrderTerm[] {
  switch (sort) {
    case 'CREATED_DESC':
      return [
        [`${flow}.created`, 'DESC'],
        [`${flow}.id`, 'DESC'],
      ];
    case 'UPDATED_DESC':
      return [
        [`${flow}.updated`, 'DESC'],
        [`${flow}.id`, 'DESC'],
      ];
    case 'NAME_ASC':
      return [[`${flow}.name`, 'ASC']];
    case 'NAME_DESC':
      return [[`${flow}.name`, 'DESC']];
  }
}
