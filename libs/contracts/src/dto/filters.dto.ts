import { IsArray, IsBoolean, IsIn, IsOptional, IsString, IsUUID } from 'class-validator';
import { EmbeddedBody, ForbidExtra } from '../body-validation';
import { STATE_TYPES, StateType } from './state.dto';
import {
  compose,
  enumMessage,
  IsDateTime,
  IsInt32,
  IsNestedModel,
  Limit,
  NullMeansDefault,
  Offset,
} from './validators';

/*
 * Prefect's filter schemas (`prefect.server.schemas.filters`). Every filter model forbids unknown keys
 * (`PrefectFilterBaseModel` has `extra="forbid"`); the request bodies that embed them do not. An absent or
 * null criterion means "no constraint"; an empty list is a constraint (`any_: []` matches nothing).
 */

export const FILTER_OPERATORS = ['and_', 'or_'] as const;
export type FilterOperator = (typeof FILTER_OPERATORS)[number];

export const FLOW_SORTS = ['CREATED_DESC', 'UPDATED_DESC', 'NAME_ASC', 'NAME_DESC'] as const;
export type FlowSort = (typeof FLOW_SORTS)[number];

export const DEPLOYMENT_SORTS = ['CREATED_DESC', 'UPDATED_DESC', 'NAME_ASC', 'NAME_DESC'] as const;
export type DeploymentSort = (typeof DEPLOYMENT_SORTS)[number];

export const FLOW_RUN_SORTS = [
  'ID_DESC',
  'START_TIME_ASC',
  'START_TIME_DESC',
  'EXPECTED_START_TIME_ASC',
  'EXPECTED_START_TIME_DESC',
  'NAME_ASC',
  'NAME_DESC',
  'NEXT_SCHEDULED_START_TIME_ASC',
  'END_TIME_DESC',
] as const;
export type FlowRunSort = (typeof FLOW_RUN_SORTS)[number];

/** An optional nested filter model. */
function NestedFilter(model: () => new () => object): PropertyDecorator {
  return compose(IsOptional(), IsNestedModel(model));
}

const UuidList = (): PropertyDecorator => compose(IsOptional(), IsArray(), IsUUID('all', { each: true }));
const StringList = (): PropertyDecorator => compose(IsOptional(), IsArray(), IsString({ each: true }));
const OptionalString = (): PropertyDecorator => compose(IsOptional(), IsString());
const OptionalBoolean = (): PropertyDecorator => compose(IsOptional(), IsBoolean());
const OptionalDateTime = (): PropertyDecorator => compose(IsOptional(), IsDateTime());
const OptionalInt = (): PropertyDecorator => compose(IsOptional(), IsInt32());
const Operator = (): PropertyDecorator => IsIn(FILTER_OPERATORS, { message: enumMessage(FILTER_OPERATORS) });

// ---------------------------------------------------------------------------------------------------- flows

@ForbidExtra()
export class FlowFilterId {
  @UuidList() any_?: string[] | null;
  @UuidList() not_any_?: string[] | null;
}

@ForbidExtra()
export class FlowFilterDeployment {
  @Operator() operator: FilterOperator = 'and_';
  @OptionalBoolean() is_null_?: boolean | null;
}

@ForbidExtra()
export class FlowFilterName {
  @StringList() any_?: string[] | null;
  @OptionalString() like_?: string | null;
}

@ForbidExtra()
export class FlowFilterTags {
  @Operator() operator: FilterOperator = 'and_';
  @StringList() all_?: string[] | null;
  @OptionalBoolean() is_null_?: boolean | null;
}

@ForbidExtra()
export class FlowFilter {
  @Operator() operator: FilterOperator = 'and_';
  @NestedFilter(() => FlowFilterId) id?: FlowFilterId | null;
  @NestedFilter(() => FlowFilterDeployment) deployment?: FlowFilterDeployment | null;
  @NestedFilter(() => FlowFilterName) name?: FlowFilterName | null;
  @NestedFilter(() => FlowFilterTags) tags?: FlowFilterTags | null;
}

// ------------------------------------------------------------------------------------------------ flow runs

@ForbidExtra()
export class FlowRunFilterId {
  @UuidList() any_?: string[] | null;
  @UuidList() not_any_?: string[] | null;
}

@ForbidExtra()
export class FlowRunFilterName {
  @StringList() any_?: string[] | null;
  @OptionalString() like_?: string | null;
}

@ForbidExtra()
export class FlowRunFilterTags {
  @Operator() operator: FilterOperator = 'and_';
  @StringList() all_?: string[] | null;
  @StringList() any_?: string[] | null;
  @OptionalBoolean() is_null_?: boolean | null;
}

@ForbidExtra()
export class FlowRunFilterDeploymentId {
  @Operator() operator: FilterOperator = 'and_';
  @UuidList() any_?: string[] | null;
  @OptionalBoolean() is_null_?: boolean | null;
}

@ForbidExtra()
export class FlowRunFilterWorkQueueName {
  @Operator() operator: FilterOperator = 'and_';
  @StringList() any_?: string[] | null;
  @OptionalBoolean() is_null_?: boolean | null;
}

const StateTypeList = (): PropertyDecorator =>
  compose(IsOptional(), IsArray(), IsIn(STATE_TYPES, { each: true, message: enumMessage(STATE_TYPES) }));

@ForbidExtra()
export class FlowRunFilterStateType {
  @StateTypeList() any_?: StateType[] | null;
  @StateTypeList() not_any_?: StateType[] | null;
}

@ForbidExtra()
export class FlowRunFilterStateName {
  @StringList() any_?: string[] | null;
  @StringList() not_any_?: string[] | null;
}

@ForbidExtra()
export class FlowRunFilterState {
  @Operator() operator: FilterOperator = 'and_';
  @NestedFilter(() => FlowRunFilterStateType) type?: FlowRunFilterStateType | null;
  @NestedFilter(() => FlowRunFilterStateName) name?: FlowRunFilterStateName | null;
}

@ForbidExtra()
export class FlowRunFilterFlowVersion {
  @StringList() any_?: string[] | null;
}

/** `start_time` and `end_time`: inclusive bounds, plus null-ness. */
@ForbidExtra()
export class FlowRunFilterTimeOrNull {
  @OptionalDateTime() before_?: Date | null;
  @OptionalDateTime() after_?: Date | null;
  @OptionalBoolean() is_null_?: boolean | null;
}

/** `expected_start_time` and `next_scheduled_start_time`: inclusive bounds only (Prefect has no `is_null_` here). */
@ForbidExtra()
export class FlowRunFilterTime {
  @OptionalDateTime() before_?: Date | null;
  @OptionalDateTime() after_?: Date | null;
}

@ForbidExtra()
export class FlowRunFilterParentFlowRunId {
  @Operator() operator: FilterOperator = 'and_';
  @UuidList() any_?: string[] | null;
}

@ForbidExtra()
export class FlowRunFilterParentTaskRunId {
  @Operator() operator: FilterOperator = 'and_';
  @UuidList() any_?: string[] | null;
  @OptionalBoolean() is_null_?: boolean | null;
}

@ForbidExtra()
export class FlowRunFilterIdempotencyKey {
  @StringList() any_?: string[] | null;
  @StringList() not_any_?: string[] | null;
}

@ForbidExtra()
export class FlowRunFilterCreatedBy {
  @Operator() operator: FilterOperator = 'and_';
  @UuidList() id_?: string[] | null;
  @StringList() type_?: string[] | null;
  @OptionalBoolean() is_null_?: boolean | null;
}

@ForbidExtra()
export class FlowRunFilter {
  @Operator() operator: FilterOperator = 'and_';
  @NestedFilter(() => FlowRunFilterId) id?: FlowRunFilterId | null;
  @NestedFilter(() => FlowRunFilterName) name?: FlowRunFilterName | null;
  @NestedFilter(() => FlowRunFilterTags) tags?: FlowRunFilterTags | null;
  @NestedFilter(() => FlowRunFilterDeploymentId) deployment_id?: FlowRunFilterDeploymentId | null;
  @NestedFilter(() => FlowRunFilterWorkQueueName) work_queue_name?: FlowRunFilterWorkQueueName | null;
  @NestedFilter(() => FlowRunFilterState) state?: FlowRunFilterState | null;
  @NestedFilter(() => FlowRunFilterFlowVersion) flow_version?: FlowRunFilterFlowVersion | null;
  @NestedFilter(() => FlowRunFilterTimeOrNull) start_time?: FlowRunFilterTimeOrNull | null;
  @NestedFilter(() => FlowRunFilterTimeOrNull) end_time?: FlowRunFilterTimeOrNull | null;
  @NestedFilter(() => FlowRunFilterTime) expected_start_time?: FlowRunFilterTime | null;
  @NestedFilter(() => FlowRunFilterTime) next_scheduled_start_time?: FlowRunFilterTime | null;
  @NestedFilter(() => FlowRunFilterParentFlowRunId) parent_flow_run_id?: FlowRunFilterParentFlowRunId | null;
  @NestedFilter(() => FlowRunFilterParentTaskRunId) parent_task_run_id?: FlowRunFilterParentTaskRunId | null;
  @NestedFilter(() => FlowRunFilterIdempotencyKey) idempotency_key?: FlowRunFilterIdempotencyKey | null;
  @NestedFilter(() => FlowRunFilterCreatedBy) created_by?: FlowRunFilterCreatedBy | null;
}

// ------------------------------------------------------------------------------------------------ task runs
// Validated to Prefect's shape so clients get Prefect's 422s; there are no task runs to match (see filters/).

@ForbidExtra()
export class TaskRunFilterId {
  @UuidList() any_?: string[] | null;
}

@ForbidExtra()
export class TaskRunFilterName {
  @StringList() any_?: string[] | null;
  @OptionalString() like_?: string | null;
}

@ForbidExtra()
export class TaskRunFilterTags {
  @Operator() operator: FilterOperator = 'and_';
  @StringList() all_?: string[] | null;
  @OptionalBoolean() is_null_?: boolean | null;
}

@ForbidExtra()
export class TaskRunFilterStateType {
  @StateTypeList() any_?: StateType[] | null;
}

@ForbidExtra()
export class TaskRunFilterStateName {
  @StringList() any_?: string[] | null;
}

@ForbidExtra()
export class TaskRunFilterState {
  @Operator() operator: FilterOperator = 'and_';
  @NestedFilter(() => TaskRunFilterStateType) type?: TaskRunFilterStateType | null;
  @NestedFilter(() => TaskRunFilterStateName) name?: TaskRunFilterStateName | null;
}

@ForbidExtra()
export class TaskRunFilterSubFlowRuns {
  @OptionalBoolean() exists_?: boolean | null;
}

@ForbidExtra()
export class TaskRunFilterFlowRunId {
  @Operator() operator: FilterOperator = 'and_';
  @UuidList() any_?: string[] | null;
  @OptionalBoolean() is_null_?: boolean | null;
}

@ForbidExtra()
export class TaskRunFilter {
  @Operator() operator: FilterOperator = 'and_';
  @NestedFilter(() => TaskRunFilterId) id?: TaskRunFilterId | null;
  @NestedFilter(() => TaskRunFilterName) name?: TaskRunFilterName | null;
  @NestedFilter(() => TaskRunFilterTags) tags?: TaskRunFilterTags | null;
  @NestedFilter(() => TaskRunFilterState) state?: TaskRunFilterState | null;
  @NestedFilter(() => FlowRunFilterTimeOrNull) start_time?: FlowRunFilterTimeOrNull | null;
  @NestedFilter(() => FlowRunFilterTimeOrNull) end_time?: FlowRunFilterTimeOrNull | null;
  @NestedFilter(() => FlowRunFilterTime) expected_start_time?: FlowRunFilterTime | null;
  @NestedFilter(() => TaskRunFilterSubFlowRuns) subflow_runs?: TaskRunFilterSubFlowRuns | null;
  @NestedFilter(() => TaskRunFilterFlowRunId) flow_run_id?: TaskRunFilterFlowRunId | null;
}

// ---------------------------------------------------------------------------------------------- deployments

@ForbidExtra()
export class DeploymentFilterId {
  @UuidList() any_?: string[] | null;
  @UuidList() not_any_?: string[] | null;
}

@ForbidExtra()
export class DeploymentFilterName {
  @StringList() any_?: string[] | null;
  @OptionalString() like_?: string | null;
}

@ForbidExtra()
export class DeploymentOrFlowNameFilter {
  @OptionalString() like_?: string | null;
}

@ForbidExtra()
export class DeploymentFilterPaused {
  @OptionalBoolean() eq_?: boolean | null;
}

@ForbidExtra()
export class DeploymentFilterTags {
  @Operator() operator: FilterOperator = 'and_';
  @StringList() all_?: string[] | null;
  @StringList() any_?: string[] | null;
  @OptionalBoolean() is_null_?: boolean | null;
}

@ForbidExtra()
export class DeploymentFilterWorkQueueName {
  @StringList() any_?: string[] | null;
}

/** Deprecated in Prefect 3 and ignored when given ("will be ignored for backwards-compatibility"). */
@ForbidExtra()
export class DeploymentFilterConcurrencyLimit {
  @OptionalInt() ge_?: number | null;
  @OptionalInt() le_?: number | null;
  @OptionalBoolean() is_null_?: boolean | null;
}

@ForbidExtra()
export class DeploymentFilter {
  @Operator() operator: FilterOperator = 'and_';
  @NestedFilter(() => DeploymentFilterId) id?: DeploymentFilterId | null;
  @NestedFilter(() => DeploymentFilterName) name?: DeploymentFilterName | null;
  @NestedFilter(() => DeploymentOrFlowNameFilter) flow_or_deployment_name?: DeploymentOrFlowNameFilter | null;
  @NestedFilter(() => DeploymentFilterPaused) paused?: DeploymentFilterPaused | null;
  @NestedFilter(() => DeploymentFilterTags) tags?: DeploymentFilterTags | null;
  @NestedFilter(() => DeploymentFilterWorkQueueName) work_queue_name?: DeploymentFilterWorkQueueName | null;
  @NestedFilter(() => DeploymentFilterConcurrencyLimit) concurrency_limit?: DeploymentFilterConcurrencyLimit | null;
}

// ------------------------------------------------------------------------------------- work pools and queues

@ForbidExtra()
export class WorkPoolFilterId {
  @UuidList() any_?: string[] | null;
}

@ForbidExtra()
export class WorkPoolFilterName {
  @StringList() any_?: string[] | null;
}

@ForbidExtra()
export class WorkPoolFilterType {
  @StringList() any_?: string[] | null;
}

@ForbidExtra()
export class WorkPoolFilter {
  @Operator() operator: FilterOperator = 'and_';
  @NestedFilter(() => WorkPoolFilterId) id?: WorkPoolFilterId | null;
  @NestedFilter(() => WorkPoolFilterName) name?: WorkPoolFilterName | null;
  @NestedFilter(() => WorkPoolFilterType) type?: WorkPoolFilterType | null;
}

@ForbidExtra()
export class WorkQueueFilterId {
  @UuidList() any_?: string[] | null;
}

@ForbidExtra()
export class WorkQueueFilterName {
  @StringList() any_?: string[] | null;
  @StringList() startswith_?: string[] | null;
}

@ForbidExtra()
export class WorkQueueFilter {
  @Operator() operator: FilterOperator = 'and_';
  @NestedFilter(() => WorkQueueFilterId) id?: WorkQueueFilterId | null;
  @NestedFilter(() => WorkQueueFilterName) name?: WorkQueueFilterName | null;
}

// ------------------------------------------------------------------------------------------- request bodies
// Embedded-body models (FastAPI `Body(embed=True)` parameters): unknown top-level keys are dropped, not refused.

/** The filters `/flows/filter` and `/flows/count` accept. */
@EmbeddedBody()
export class FlowCountRequestDto {
  @NestedFilter(() => FlowFilter) flows?: FlowFilter | null;
  @NestedFilter(() => FlowRunFilter) flow_runs?: FlowRunFilter | null;
  @NestedFilter(() => TaskRunFilter) task_runs?: TaskRunFilter | null;
  @NestedFilter(() => DeploymentFilter) deployments?: DeploymentFilter | null;
  @NestedFilter(() => WorkPoolFilter) work_pools?: WorkPoolFilter | null;
}

export class FlowFilterRequestDto extends FlowCountRequestDto {
  @NullMeansDefault('NAME_ASC') @IsIn(FLOW_SORTS, { message: enumMessage(FLOW_SORTS) }) sort: FlowSort = 'NAME_ASC';
  @Offset() offset = 0;
  @Limit() limit?: number | null;
}

/** The filters `/deployments/filter`, `/deployments/count`, `/flow_runs/filter` and `/flow_runs/count` accept. */
@EmbeddedBody()
export class DeploymentCountRequestDto {
  @NestedFilter(() => FlowFilter) flows?: FlowFilter | null;
  @NestedFilter(() => FlowRunFilter) flow_runs?: FlowRunFilter | null;
  @NestedFilter(() => TaskRunFilter) task_runs?: TaskRunFilter | null;
  @NestedFilter(() => DeploymentFilter) deployments?: DeploymentFilter | null;
  @NestedFilter(() => WorkPoolFilter) work_pools?: WorkPoolFilter | null;
  @NestedFilter(() => WorkQueueFilter) work_pool_queues?: WorkQueueFilter | null;
}

export class DeploymentFilterRequestDto extends DeploymentCountRequestDto {
  @NullMeansDefault('NAME_ASC')
  @IsIn(DEPLOYMENT_SORTS, { message: enumMessage(DEPLOYMENT_SORTS) })
  sort: DeploymentSort = 'NAME_ASC';
  @Offset() offset = 0;
  @Limit() limit?: number | null;
}

export class FlowRunCountRequestDto extends DeploymentCountRequestDto {}

export class FlowRunFilterRequestDto extends FlowRunCountRequestDto {
  @NullMeansDefault('ID_DESC') @IsIn(FLOW_RUN_SORTS, { message: enumMessage(FLOW_RUN_SORTS) }) sort: FlowRunSort =
    'ID_DESC';
  @Offset() offset = 0;
  @Limit() limit?: number | null;
}
