import type { FlowRunFilter, FlowRunSort } from '@app/contracts';
import { Criteria, QueryParameters } from './criteria';
import type { OrderTerm } from './order';

interface TimeRange {
  before_?: Date | null;
  after_?: Date | null;
  is_null_?: boolean | null;
}

/** Prefect's `FlowRunFilter` over the flow run row aliased `run`. */
export function flowRunFilterSql(filter: FlowRunFilter, run: string, params: QueryParameters): string {
  const criteria = () => new Criteria(params);
  const timeRange = (column: string) => (time: TimeRange) =>
    criteria().atOrBefore(column, time.before_).atOrAfter(column, time.after_).isNull(column, time.is_null_).sql();
  return (
    criteria()
      .when(filter.id, (id) => criteria().anyOf(`${run}.id`, id.any_).noneOf(`${run}.id`, id.not_any_).sql())
      .when(filter.name, (name) => criteria().anyOf(`${run}.name`, name.any_).contains(`${run}.name`, name.like_).sql())
      .when(filter.tags, (tags) =>
        criteria()
          .hasAllTags(`${run}.tags`, tags.all_)
          .hasAnyTag(`${run}.tags`, tags.any_)
          .hasNoTags(`${run}.tags`, tags.is_null_)
          .sql(tags.operator),
      )
      .when(filter.deployment_id, (deployment) =>
        criteria()
          .anyOf(`${run}.deployment_id`, deployment.any_)
          .isNull(`${run}.deployment_id`, deployment.is_null_)
          .sql(deployment.operator),
      )
      .when(filter.work_queue_name, (queue) =>
        criteria()
          .anyOf(`${run}.work_queue_name`, queue.any_)
          .isNull(`${run}.work_queue_name`, queue.is_null_)
          .sql(queue.operator),
      )
      .when(filter.flow_version, (version) => criteria().anyOf(`${run}.flow_version`, version.any_).sql())
      // Prefect flattens type and name criteria into the state filter's own list, under its operator.
      .when(filter.state, (state) =>
        criteria()
          .anyOf(`${run}.state_type`, state.type?.any_)
          .noneOf(`${run}.state_type`, state.type?.not_any_)
          .anyOf(`${run}.state_name`, state.name?.any_)
          .noneOf(`${run}.state_name`, state.name?.not_any_)
          .sql(state.operator),
      )
      .when(filter.start_time, timeRange(`${run}.start_time`))
      .when(filter.end_time, timeRange(`${run}.end_time`))
      .when(filter.expected_start_time, timeRange(`${run}.expected_start_time`))
      .when(filter.next_scheduled_start_time, timeRange(`${run}.next_scheduled_start_time`))
      // Prefect finds subflows through their parent task run, which belongs to the parent flow run.
      .when(filter.parent_flow_run_id, (parent) =>
        criteria()
          .when(
            parent.any_,
            (ids) =>
              `EXISTS (SELECT 1 FROM task_run parent_task WHERE parent_task.id = ${run}.parent_task_run_id AND parent_task.flow_run_id = ANY(${params.bind(ids)}))`,
          )
          .sql(parent.operator),
      )
      .when(filter.parent_task_run_id, (parent) =>
        criteria()
          .anyOf(`${run}.parent_task_run_id`, parent.any_)
          .isNull(`${run}.parent_task_run_id`, parent.is_null_)
          .sql(parent.operator),
      )
      .when(filter.idempotency_key, (key) =>
        criteria().anyOf(`${run}.idempotency_key`, key.any_).noneOf(`${run}.idempotency_key`, key.not_any_).sql(),
      )
      .when(filter.created_by, (creator) =>
        criteria()
          .anyOf(
            `(${run}.created_by ->> 'id')`,
            creator.id_?.map((id) => id.toLowerCase()),
          )
          .anyOf(`(${run}.created_by ->> 'type')`, creator.type_)
          .isNull(`${run}.created_by`, creator.is_null_)
          .sql(creator.operator),
      )
      .sql(filter.operator)
  );
}

/** Every sort but the id's ends on the id, so that pages are stable when the sort key ties (or is NULL). */
export function flowRunOrder(sort: FlowRunSort, run: string): OrderTerm[] {
  const startTime = `COALESCE(${run}.start_time, ${run}.expected_start_time)`;
  switch (sort) {
    case 'ID_DESC':
      return [[`${run}.id`, 'DESC']];
    case 'START_TIME_ASC':
      return [
        [startTime, 'ASC'],
        [`${run}.id`, 'ASC'],
      ];
    case 'START_TIME_DESC':
      return [
        [startTime, 'DESC'],
        [`${run}.id`, 'DESC'],
      ];
    case 'EXPECTED_START_TIME_ASC':
      return [
        [`${run}.expected_start_time`, 'ASC'],
        [`${run}.id`, 'ASC'],
      ];
    case 'EXPECTED_START_TIME_DESC':
      return [
        [`${run}.expected_start_time`, 'DESC'],
        [`${run}.id`, 'DESC'],
      ];
    case 'NAME_ASC':
      return [
        [`${run}.name`, 'ASC'],
        [`${run}.id`, 'ASC'],
      ];
    case 'NAME_DESC':
      return [
        [`${run}.name`, 'DESC'],
        [`${run}.id`, 'DESC'],
      ];
    case 'NEXT_SCHEDULED_START_TIME_ASC':
      return [
        [`${run}.next_scheduled_start_time`, 'ASC'],
        [`${run}.id`, 'ASC'],
      ];
    case 'END_TIME_DESC':
      return [
        [`${run}.end_time`, 'DESC'],
        [`${run}.id`, 'DESC'],
      ];
  }
}
