import { IsArray, IsBoolean, IsDefined, IsIn, IsNumber, IsOptional, IsString, IsUUID } from 'class-validator';
import { ForbidExtra } from '../body-validation';
import { StateCreateDto } from './state.dto';
import { enumMessage, IsInt32, IsJsonObject, IsLabels, IsNestedModel, IsSizedParameters, WhenSent } from './validators';

export const RETRY_TYPES = ['in_process', 'reschedule'] as const;
export type RetryType = (typeof RETRY_TYPES)[number];

/** `FlowRunPolicy`: a plain model, so unknown keys are dropped. */
export class FlowRunPolicyDto {
  @WhenSent() @IsInt32() max_retries?: number;
  @WhenSent() @IsNumber() retry_delay_seconds?: number;
  @IsOptional() @IsInt32() retries?: number | null;
  @IsOptional() @IsInt32() retry_delay?: number | null;
  @IsOptional() @IsArray() @IsString({ each: true }) pause_keys?: string[] | null;
  @IsOptional() @IsBoolean() resuming?: boolean | null;
  @IsOptional() @IsIn(RETRY_TYPES, { message: enumMessage(RETRY_TYPES) }) retry_type?: RetryType | null;
}

export type KeyValueLabels = Record<string, string | number | boolean>;

/** `FlowRunCreate` (`POST /flow_runs/`). */
@ForbidExtra()
export class FlowRunCreateDto {
  @IsOptional() @IsNestedModel(() => StateCreateDto) state?: StateCreateDto | null;
  /** Empty or null means "generate a slug", as Prefect's `get_or_create_run_name`. */
  @IsOptional() @IsString() name?: string | null;
  @IsDefined() @IsUUID() flow_id!: string;
  @IsOptional() @IsString() flow_version?: string | null;
  @WhenSent() @IsJsonObject() @IsSizedParameters() parameters: Record<string, unknown> = {};
  @WhenSent() @IsJsonObject() context: Record<string, unknown> = {};
  @IsOptional() @IsUUID() parent_task_run_id?: string | null;
  @IsOptional() @IsUUID() infrastructure_document_id?: string | null;
  @WhenSent() @IsNestedModel(() => FlowRunPolicyDto) empirical_policy?: FlowRunPolicyDto;
  @WhenSent() @IsArray() @IsString({ each: true }) tags: string[] = [];
  @IsOptional() @IsLabels() labels?: KeyValueLabels | null;
  @IsOptional() @IsString() idempotency_key?: string | null;
  @IsOptional() @IsString() work_pool_name?: string | null;
  @IsOptional() @IsString() work_queue_name?: string | null;
  @IsOptional() @IsJsonObject() job_variables?: Record<string, unknown> | null;
  /** Deprecated by Prefect, still honoured. */
  @IsOptional() @IsUUID() deployment_id?: string | null;
}

/** `DeploymentFlowRunCreate` (`POST /deployments/{id}/create_flow_run`). */
@ForbidExtra()
export class DeploymentFlowRunCreateDto {
  @IsOptional() @IsNestedModel(() => StateCreateDto) state?: StateCreateDto | null;
  @IsOptional() @IsString() name?: string | null;
  @WhenSent() @IsJsonObject() @IsSizedParameters() parameters: Record<string, unknown> = {};
  @IsOptional() @IsBoolean() enforce_parameter_schema?: boolean | null;
  @WhenSent() @IsJsonObject() context: Record<string, unknown> = {};
  @IsOptional() @IsUUID() infrastructure_document_id?: string | null;
  @WhenSent() @IsNestedModel(() => FlowRunPolicyDto) empirical_policy?: FlowRunPolicyDto;
  @WhenSent() @IsArray() @IsString({ each: true }) tags: string[] = [];
  @IsOptional() @IsString() idempotency_key?: string | null;
  @IsOptional() @IsLabels() labels?: KeyValueLabels | null;
  @IsOptional() @IsUUID() parent_task_run_id?: string | null;
  @IsOptional() @IsString() work_queue_name?: string | null;
  @IsOptional() @IsJsonObject() job_variables: Record<string, unknown> | null = {};
}

/** `FlowRunUpdate` (`PATCH /flow_runs/{id}`): only the keys a client sends are written. */
@ForbidExtra()
export class FlowRunUpdateDto {
  @IsOptional() @IsString() name?: string | null;
  @IsOptional() @IsString() flow_version?: string | null;
  @WhenSent() @IsJsonObject() @IsSizedParameters() parameters?: Record<string, unknown>;
  @WhenSent() @IsNestedModel(() => FlowRunPolicyDto) empirical_policy?: FlowRunPolicyDto;
  @WhenSent() @IsArray() @IsString({ each: true }) tags?: string[];
  @IsOptional() @IsString() infrastructure_pid?: string | null;
  @IsOptional() @IsJsonObject() job_variables?: Record<string, unknown> | null;
}
