import type { TaskRunFilter, TaskRunSort } from '@app/contracts';
import { Criteria, QueryParameters } from './criteria';
import type { OrderTerm } from './order';

interface TimeRange {
  before_?: Date | null;
  after_?: Date | null;
  is_null_?: boolean | null;
}

/** Prefect's `TaskRunFilter` over the task run row aliased `task`. */
export function taskRunFilterSql(filter: TaskRunFilter, task: string, params: QueryParameters): string {
  const criteria = () => new Criteria(params);
  const timeRange = (column: string) => (time: TimeRange) =>
    criteria().atOrBefore(column, time.before_).atOrAfter(column, time.after_).isNull(column, time.is_null_).sql();
  return criteria()
    .when(filter.id, (id) => criteria().anyOf(`${task}.id`, id.any_).sql())
    .when(filter.name, (name) => criteria().anyOf(`${task}.name`, name.any_).contains(`${task}.name`, name.like_).sql())
    .when(filter.tags, (tags) =>
      criteria().hasAllTags(`${task}.tags`, tags.all_).hasNoTags(`${task}.tags`, tags.is_null_).sql(tags.operator),
    )
    .when(filter.state, (state) =>
      criteria()
        .anyOf(`${task}.state_type`, state.type?.any_)
        .anyOf(`${task}.state_name`, state.name?.any_)
        .sql(state.operator),
    )
    .when(filter.start_time, timeRange(`${task}.start_time`))
    .when(filter.end_time, timeRange(`${task}.end_time`))
    .when(filter.expected_start_time, timeRange(`${task}.expected_start_time`))
    .when(filter.subflow_runs, (subflows) =>
      criteria()
        .when(
          subflows.exists_,
          (exists) =>
            `${exists ? '' : 'NOT '}EXISTS (SELECT 1 FROM flow_run subflow WHERE subflow.parent_task_run_id = ${task}.id)`,
        )
        .sql(),
    )
    .when(filter.flow_run_id, (flowRun) =>
      criteria()
        .anyOf(`${task}.flow_run_id`, flowRun.any_)
        .isNull(`${task}.flow_run_id`, flowRun.is_null_)
        .sql(flowRun.operator),
    )
    .sql(filter.operator);
}

/** Prefect's `TaskRunSort`; ties fall back on the id so that pages are stable. */
export function taskRunOrder(sort: TaskRunSort, task: string): OrderTerm[] {
  switch (sort) {
    case 'ID_DESC':
      return [[`${task}.id`, 'DESC']];
    case 'EXPECTED_START_TIME_ASC':
      return [
        [`${task}.expected_start_time`, 'ASC'],
        [`${task}.id`, 'ASC'],
      ];
    case 'EXPECTED_START_TIME_DESC':
      return [
        [`${task}.expected_start_time`, 'DESC'],
        [`${task}.id`, 'DESC'],
      ];
    case 'NAME_ASC':
      return [[`${task}.name`, 'ASC']];
    case 'NAME_DESC':
      return [[`${task}.name`, 'DESC']];
    case 'NEXT_SCHEDULED_START_TIME_ASC':
      return [
        [`${task}.next_scheduled_start_time`, 'ASC'],
        [`${task}.id`, 'ASC'],
      ];
    case 'END_TIME_DESC':
      return [
        [`${task}.end_time`, 'DESC'],
        [`${task}.id`, 'DESC'],
      ];
  }
}
