import type { DeploymentFilter, DeploymentSort } from '@app/contracts';
import { Criteria, QueryParameters } from './criteria';
import type { OrderTerm } from './order';

/**
 * Prefect's `DeploymentFilter` over the deployment row aliased `deployment`. `concurrency_limit` is validated but
 * contributes nothing, not even under `or_`: Prefect 3 deprecated it ("If provided, will be ignored").
 */
export function deploymentFilterSql(filter: DeploymentFilter, deployment: string, params: QueryParameters): string {
  const criteria = () => new Criteria(params);
  return criteria()
    .when(filter.id, (id) =>
      criteria().anyOf(`${deployment}.id`, id.any_).noneOf(`${deployment}.id`, id.not_any_).sql(),
    )
    .when(filter.name, (name) =>
      criteria().anyOf(`${deployment}.name`, name.any_).contains(`${deployment}.name`, name.like_).sql(),
    )
    .when(filter.flow_or_deployment_name, (either) =>
      criteria()
        .when(either.like_, (like) => {
          const flowName = criteria().contains('deployment_flow.name', like).sql();
          const ownName = criteria().contains(`${deployment}.name`, like).sql();
          return `${ownName} OR EXISTS (SELECT 1 FROM flow deployment_flow WHERE deployment_flow.id = ${deployment}.flow_id AND ${flowName})`;
        })
        .sql(),
    )
    .when(filter.paused, (paused) =>
      criteria()
        .when(paused.eq_, (eq) => `${deployment}.paused = ${eq ? 'TRUE' : 'FALSE'}`)
        .sql(),
    )
    .when(filter.tags, (tags) =>
      criteria()
        .hasAllTags(`${deployment}.tags`, tags.all_)
        .hasAnyTag(`${deployment}.tags`, tags.any_)
        .hasNoTags(`${deployment}.tags`, tags.is_null_)
        .sql(tags.operator),
    )
    .when(filter.work_queue_name, (queueName) =>
      criteria().anyOf(`${deployment}.work_queue_name`, queueName.any_).sql(),
    )
    .sql(filter.operator);
}

/** Names repeat across flows, so every sort ends on the id for stable pages. */
export function deploymentOrder(sort: DeploymentSort, deployment: string): OrderTerm[] {
  switch (sort) {
    case 'CREATED_DESC':
      return [
        [`${deployment}.created`, 'DESC'],
        [`${deployment}.id`, 'DESC'],
      ];
    case 'UPDATED_DESC':
      return [
        [`${deployment}.updated`, 'DESC'],
        [`${deployment}.id`, 'DESC'],
      ];
    case 'NAME_ASC':
      return [
        [`${deployment}.name`, 'ASC'],
        [`${deployment}.id`, 'ASC'],
      ];
    case 'NAME_DESC':
      return [
        [`${deployment}.name`, 'DESC'],
        [`${deployment}.id`, 'DESC'],
      ];
  }
}
