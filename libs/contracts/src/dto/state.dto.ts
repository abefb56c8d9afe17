import { Allow, IsBoolean, IsDefined, IsIn, IsOptional, IsString, IsUUID } from 'class-validator';
import { EmbeddedBody, ForbidExtra } from '../body-validation';
import { enumMessage, IsDateTime, IsNestedModel, rule, WhenSent } from './validators';

/** Prefect's `StateType` enum, in its declaration order. */
export const STATE_TYPES = [
  'SCHEDULED',
  'PENDING',
  'RUNNING',
  'COMPLETED',
  'FAILED',
  'CANCELLED',
  'CRASHED',
  'PAUSED',
  'CANCELLING',
] as const;
export type StateType = (typeof STATE_TYPES)[number];

/** An object whose values are all strings (`dict[str, str]`). */
const IsStringRecord = (): PropertyDecorator =>
  rule(
    'isObject',
    (value) =>
      typeof value === 'object' &&
      value !== null &&
      !Array.isArray(value) &&
      Object.values(value).every((v) => typeof v === 'string'),
    { message: 'Input should be a valid dictionary of strings' },
  );

/** `StateDetails`: a plain model, so unknown keys are dropped rather than refused. */
export class StateDetailsDto {
  @IsOptional() @IsUUID() flow_run_id?: string | null;
  @IsOptional() @IsUUID() task_run_id?: string | null;
  @IsOptional() @IsUUID() child_flow_run_id?: string | null;
  @IsOptional() @IsDateTime() scheduled_time?: Date | null;
  @IsOptional() @IsString() cache_key?: string | null;
  @IsOptional() @IsDateTime() cache_expiration?: Date | null;
  @IsOptional() @IsBoolean() deferred?: boolean | null;
  @WhenSent() @IsBoolean() untrackable_result?: boolean;
  @IsOptional() @IsDateTime() pause_timeout?: Date | null;
  @WhenSent() @IsBoolean() pause_reschedule?: boolean;
  @IsOptional() @IsString() pause_key?: string | null;
  @IsOptional() @IsStringRecord() run_input_keyset?: Record<string, string> | null;
  @IsOptional() @IsBoolean() refresh_cache?: boolean | null;
  @IsOptional() @IsBoolean() retriable?: boolean | null;
  @IsOptional() @IsUUID() transition_id?: string | null;
  @IsOptional() @IsUUID() task_parameters_id?: string | null;
  @IsOptional() @IsString() traceparent?: string | null;
  @IsOptional() @IsUUID() deployment_concurrency_lease_id?: string | null;
}

/** `StateCreate`: the state a client proposes. */
@ForbidExtra()
export class StateCreateDto {
  @IsDefined()
  @IsIn(STATE_TYPES, { message: enumMessage(STATE_TYPES) })
  type!: StateType;

  @IsOptional() @IsString() name?: string | null;
  @IsOptional() @IsString() message?: string | null;
  @Allow() data?: unknown;

  @WhenSent() @IsNestedModel(() => StateDetailsDto) state_details?: StateDetailsDto;
}

/**
 * The body of `POST /flow_runs/{id}/set_state`: two embedded FastAPI body parameters, so extra keys are ignored
 * and an explicit `null` for `force` means its default.
 */
@EmbeddedBody()
export class SetFlowRunStateDto {
  @IsDefined() @IsNestedModel(() => StateCreateDto) state!: StateCreateDto;
  @IsOptional() @IsBoolean() force?: boolean | null;
}
