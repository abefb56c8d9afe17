import { IsArray, IsDefined, IsIn, IsNumber, IsOptional, IsString, IsUUID } from 'class-validator';
import { EmbeddedBody, ForbidExtra } from '../body-validation';
import { FlowFilter, FlowRunFilter, DeploymentFilter, TaskRunFilter } from './filters.dto';
import type { KeyValueLabels } from './flow-run.dto';
import { SetFlowRunStateDto, StateCreateDto } from './state.dto';
import {
  compose,
  enumMessage,
  IsDateTime,
  IsInt32,
  IsJsonObject,
  IsLabels,
  IsNestedModel,
  Limit,
  NullMeansDefault,
  Offset,
  rule,
  WhenSent,
} from './validators';

/** Prefect's `retry_delay` of a task: seconds, or one delay per retry. */
const IsRetryDelay = (): PropertyDecorator =>
  rule(
    'isRetryDelay',
    (value) => typeof value === 'number' || (Array.isArray(value) && value.every((item) => typeof item === 'number')),
    {
      message: 'Input should be a valid number or a list of numbers',
    },
  );

/** `TaskRunPolicy`: a plain model, so unknown keys are dropped. */
export class TaskRunPolicyDto {
  @WhenSent() @IsInt32() max_retries?: number;
  @WhenSent() @IsNumber() retry_delay_seconds?: number;
  @IsOptional() @IsInt32() retries?: number | null;
  @IsOptional() @IsRetryDelay() retry_delay?: number | number[] | null;
  @IsOptional() @IsNumber() retry_jitter_factor?: number | null;
}

/** Prefect's `TaskRunCreate`. */
@ForbidExtra()
export class TaskRunCreateDto {
  @IsOptional() @IsUUID() id?: string | null;
  @IsOptional() @IsNestedModel(() => StateCreateDto) state?: StateCreateDto | null;
  /** Prefect's stock client sends `null` when it names none; the server then generates one. */
  @IsOptional() @IsString() name?: string | null;
  @IsOptional() @IsUUID() flow_run_id?: string | null;
  @IsDefined() @IsString() task_key!: string;
  @IsDefined() @IsString() dynamic_key!: string;
  @IsOptional() @IsString() cache_key?: string | null;
  @IsOptional() @IsDateTime() cache_expiration?: Date | null;
  @IsOptional() @IsString() task_version?: string | null;
  @WhenSent() @IsNestedModel(() => TaskRunPolicyDto) empirical_policy?: TaskRunPolicyDto;
  @WhenSent() @IsArray() @IsString({ each: true }) tags: string[] = [];
  @IsOptional() @IsLabels() labels?: KeyValueLabels | null;
  @WhenSent() @IsJsonObject() task_inputs: Record<string, unknown> = {};
}

/** `POST /task_runs/{id}/set_state`: the same body as a flow run's. */
export class SetTaskRunStateDto extends SetFlowRunStateDto {}

export const TASK_RUN_SORTS = [
  'ID_DESC',
  'EXPECTED_START_TIME_ASC',
  'EXPECTED_START_TIME_DESC',
  'NAME_ASC',
  'NAME_DESC',
  'NEXT_SCHEDULED_START_TIME_ASC',
  'END_TIME_DESC',
] as const;
export type TaskRunSort = (typeof TASK_RUN_SORTS)[number];

const NestedFilter = (model: () => new () => object): PropertyDecorator => compose(IsOptional(), IsNestedModel(model));

/** The body of `POST /task_runs/filter`. */
@EmbeddedBody()
export class TaskRunFilterRequestDto {
  @NestedFilter(() => FlowFilter) flows?: FlowFilter | null;
  @NestedFilter(() => FlowRunFilter) flow_runs?: FlowRunFilter | null;
  @NestedFilter(() => TaskRunFilter) task_runs?: TaskRunFilter | null;
  @NestedFilter(() => DeploymentFilter) deployments?: DeploymentFilter | null;
  @NullMeansDefault('ID_DESC') @IsIn(TASK_RUN_SORTS, { message: enumMessage(TASK_RUN_SORTS) }) sort: TaskRunSort =
    'ID_DESC';
  @Offset() offset = 0;
  @Limit() limit?: number | null;
}
