import { Transform, Type, TypeHelpOptions } from 'class-transformer';
import {
  IsArray,
  IsBoolean,
  IsDefined,
  IsIn,
  IsInt,
  IsOptional,
  IsString,
  Max,
  Min,
  ValidateNested,
  ValidationArguments,
} from 'class-validator';
import { ForbidExtra } from '../body-validation';
import { cronError } from '../schedules/cron-strings';
import { parseIntervalSeconds } from '../schedules/durations';
import { rruleError } from '../schedules/rrule-strings';
import { isKnownTimeZone } from '../schedules/time-zones';
import {
  compose,
  enumMessage,
  IsDateTime,
  IsJsonObject,
  IsLabels,
  IsNestedModel,
  IsPositiveInteger,
  IsPrefectName,
  IsSizedParameters,
  rule,
  WhenSent,
} from './validators';

/*
 * Prefect's deployment and schedule action models (`schemas/actions.py`, `schemas/schedules.py`). A property
 * left `undefined` was not sent: Prefect applies creates and updates with `exclude_unset=True`, so the
 * services need to tell "absent" from "sent as null". Non-nullable fields therefore use `WhenSent()` (validate
 * any sent value, null included) instead of `IsOptional()` (which would let null through).
 */

// ------------------------------------------------------------------------------------------ time zones

const timezoneMessage = ({ value }: ValidationArguments): string =>
  `Value error, Invalid timezone: "${String(value)}" (specify in IANA tzdata format, for example, America/New_York)`;

/** Interval and cron schedules: an empty string passes, as in Prefect's `default_timezone`. */
const IsScheduleTimezone = (): PropertyDecorator =>
  compose(
    IsOptional(),
    IsString(),
    rule('isTimezone', (value) => value === '' || isKnownTimeZone(value as string), { message: timezoneMessage }),
  );

// ------------------------------------------------------------------------------------------ intervals

const IsPositiveInterval = (): PropertyDecorator =>
  compose(
    Transform(({ value }: { value: unknown }) => parseIntervalSeconds(value) ?? value),
    rule('isPositiveInterval', (value) => typeof value === 'number' && value > 0, {
      message: ({ value }) =>
        typeof value === 'number' ? 'Value error, interval must be positive' : 'Input should be a valid timedelta',
    }),
  );

// ------------------------------------------------------------------------------------------ cron strings

// Non-strings are IsString's to report: pydantic reports only the type.
const IsCronString = (): PropertyDecorator =>
  compose(
    IsDefined(),
    IsString(),
    rule('isCron', (value) => typeof value !== 'string' || cronError(value) === null, {
      message: ({ value }) => `Value error, ${cronError(value as string)}`,
    }),
  );

// ------------------------------------------------------------------------------------------ rrule strings

// Non-strings are IsString's to report: pydantic reports only the type.
const IsRRuleString = (): PropertyDecorator =>
  compose(
    IsDefined(),
    IsString(),
    rule('isRRule', (value) => typeof value !== 'string' || rruleError(value) === null, {
      message: ({ value }) => `Value error, ${rruleError(value as string)}`,
    }),
  );

// ------------------------------------------------------------------------------------------ schedules

@ForbidExtra()
export class IntervalScheduleDto {
  @IsDefined()
  @IsPositiveInterval()
  interval!: number;

  /** Absent: now, stamped when the schedule is stored. */
  @WhenSent()
  @IsDateTime()
  anchor_date?: Date;

  @IsScheduleTimezone()
  timezone?: string | null;
}

@ForbidExtra()
export class CronScheduleDto {
  @IsCronString()
  cron!: string;

  @IsScheduleTimezone()
  timezone?: string | null;

  @WhenSent()
  @IsBoolean()
  day_or?: boolean;
}

@ForbidExtra()
export class RRuleScheduleDto {
  @IsRRuleString()
  rrule!: string;

  // Prefect's `TimeZone` type: a known zone or null; absent means UTC.
  @IsOptional()
  @IsString()
  @rule('isTimezone', (value) => isKnownTimeZone(value as string), { message: timezoneMessage })
  timezone?: string | null;
}

export type ScheduleDto = IntervalScheduleDto | CronScheduleDto | RRuleScheduleDto;

/**
 * Prefect's `SCHEDULE_TYPES` union, told apart by the key only one member has; a body with none of them is
 * read as an interval schedule, so its error names the missing `interval`.
 */
function scheduleType(options?: TypeHelpOptions): new () => ScheduleDto {
  const value = options?.object[options.property] as unknown;
  if (typeof value === 'object' && value !== null && !Array.isArray(value) && !('interval' in value)) {
    if ('cron' in value) return CronScheduleDto;
    if ('rrule' in value) return RRuleScheduleDto;
  }
  return IntervalScheduleDto;
}

const IsSchedule = (): PropertyDecorator => IsNestedModel(scheduleType);

/** Prefect's `PREFECT_DEPLOYMENT_SCHEDULE_MAX_SCHEDULED_RUNS`. */
export const MAX_SCHEDULED_RUNS_PER_SCHEDULE = 50;

const MaxScheduledRuns = (): PropertyDecorator =>
  compose(
    IsOptional(),
    IsPositiveInteger(),
    rule(
      'isWithinScheduledRunsLimit',
      (value) => typeof value === 'number' && value <= MAX_SCHEDULED_RUNS_PER_SCHEDULE,
      {
        message: `Value error, \`max_scheduled_runs\` must be less than or equal to ${MAX_SCHEDULED_RUNS_PER_SCHEDULE}.`,
      },
    ),
  );

/** The fields Prefect's schedule create and update models declare alike. */
abstract class DeploymentScheduleFieldsDto {
  @MaxScheduledRuns()
  max_scheduled_runs?: number | null;

  @WhenSent()
  @IsJsonObject()
  parameters?: Record<string, unknown>;

  @IsOptional()
  @IsString()
  slug?: string | null;

  /** A deploy-time directive for renaming a slug; never stored. */
  @IsOptional()
  @IsString()
  replaces?: string | null;
}

@ForbidExtra()
export class DeploymentScheduleCreateDto extends DeploymentScheduleFieldsDto {
  @WhenSent()
  @IsBoolean()
  active?: boolean;

  @IsDefined()
  @IsSchedule()
  schedule!: ScheduleDto;
}

@ForbidExtra()
export class DeploymentScheduleUpdateDto extends DeploymentScheduleFieldsDto {
  @IsOptional()
  @IsBoolean()
  active?: boolean | null;

  @IsOptional()
  @IsSchedule()
  schedule?: ScheduleDto | null;
}

// ------------------------------------------------------------------------------------------ deployments

export const CONCURRENCY_LIMIT_STRATEGIES = ['ENQUEUE', 'CANCEL_NEW'] as const;

/** A plain pydantic model in Prefect: unknown keys are dropped, not refused. */
export class ConcurrencyOptionsDto {
  @IsDefined()
  @IsIn(CONCURRENCY_LIMIT_STRATEGIES, { message: enumMessage(CONCURRENCY_LIMIT_STRATEGIES) })
  collision_strategy!: (typeof CONCURRENCY_LIMIT_STRATEGIES)[number];

  @IsOptional()
  @IsInt()
  @Min(60)
  @Max(86400)
  grace_period_seconds?: number | null;
}

/** Accepted and validated like Prefect's `VersionInfo`, which Prefect does not store either. */
export class VersionInfoDto {
  @IsDefined()
  @IsString()
  type!: string;

  @IsDefined()
  @IsString()
  version!: string;
}

const UUID = /^(?:urn:uuid:)?\{?([0-9a-f]{8})-?([0-9a-f]{4})-?([0-9a-f]{4})-?([0-9a-f]{4})-?([0-9a-f]{12})\}?$/i;

/** A UUID in any form pydantic parses (any version, braces, `urn:uuid:`, no dashes), stored canonical. */
const IsPydanticUuid = (): PropertyDecorator =>
  compose(
    Transform(({ value }: { value: unknown }) => {
      const match = typeof value === 'string' ? UUID.exec(value) : null;
      return match ? match.slice(1).join('-').toLowerCase() : value;
    }),
    // Named like class-validator's own rule so that it reports pydantic's `uuid_parsing`.
    rule('isUuid', (value) => typeof value === 'string' && UUID.test(value)),
  );

const OptionalString = (): PropertyDecorator => compose(IsOptional(), IsString());
const OptionalUuid = (): PropertyDecorator => compose(IsOptional(), IsPydanticUuid());
const OptionalJsonObject = (): PropertyDecorator => compose(IsOptional(), IsJsonObject());
const SentStringList = (): PropertyDecorator => compose(WhenSent(), IsArray(), IsString({ each: true }));
const SentBoolean = (): PropertyDecorator => compose(WhenSent(), IsBoolean());
const OptionalPositiveInteger = (): PropertyDecorator => compose(IsOptional(), IsPositiveInteger());
const PullSteps = (): PropertyDecorator => compose(IsOptional(), IsArray(), IsJsonObject({ each: true }));
const OptionalNested = (model: () => new () => object): PropertyDecorator =>
  compose(IsOptional(), IsNestedModel(model));
/** Keys older clients still send; Prefect's `remove_old_deployment_fields` drops them before validation. */
const LegacyKey = (): PropertyDecorator => IsOptional();

const bothConcurrencyLimits = (dto: {
  concurrency_limit?: number | null;
  global_concurrency_limit_id?: string | null;
}): boolean => Boolean(dto.concurrency_limit) && Boolean(dto.global_concurrency_limit_id);

/** Prefect's model validator, reported on the whole body as pydantic does. */
const OneConcurrencyLimit = (): PropertyDecorator =>
  rule('oneConcurrencyLimit', (_value, { object }) => !bothConcurrencyLimits(object), {
    message: 'Value error, A deployment cannot have both a concurrency limit and a global concurrency limit.',
  });

/** The fields Prefect's deployment create and update models declare alike. */
abstract class DeploymentFieldsDto {
  @SentBoolean()
  paused?: boolean;

  @OptionalPositiveInteger()
  concurrency_limit?: number | null;

  @OptionalNested(() => ConcurrencyOptionsDto)
  concurrency_options?: ConcurrencyOptionsDto | null;

  @OptionalUuid()
  @OneConcurrencyLimit()
  global_concurrency_limit_id?: string | null;

  @OptionalJsonObject()
  parameter_openapi_schema?: Record<string, unknown> | null;

  @SentStringList()
  tags?: string[];

  @PullSteps()
  pull_steps?: Record<string, unknown>[] | null;

  @OptionalString()
  work_queue_name?: string | null;

  @OptionalString()
  work_pool_name?: string | null;

  @OptionalUuid()
  storage_document_id?: string | null;

  @OptionalUuid()
  infrastructure_document_id?: string | null;

  @OptionalString()
  description?: string | null;

  @OptionalString()
  path?: string | null;

  @OptionalString()
  version?: string | null;

  @OptionalString()
  entrypoint?: string | null;

  @OptionalNested(() => VersionInfoDto)
  version_info?: VersionInfoDto | null;

  @LegacyKey() worker_pool_queue_id?: unknown;
  @LegacyKey() worker_pool_name?: unknown;
  @LegacyKey() worker_pool_queue_name?: unknown;
  @LegacyKey() work_pool_queue_name?: unknown;
}

@ForbidExtra()
export class DeploymentCreateDto extends DeploymentFieldsDto {
  @IsDefined()
  @IsString()
  @IsPrefectName()
  name!: string;

  @IsDefined()
  @IsPydanticUuid()
  flow_id!: string;

  @WhenSent()
  @IsArray()
  @ValidateNested({ each: true })
  @Type(() => DeploymentScheduleCreateDto)
  schedules?: DeploymentScheduleCreateDto[];

  @SentBoolean()
  enforce_parameter_schema?: boolean;

  @WhenSent()
  @IsJsonObject()
  @IsSizedParameters()
  parameters?: Record<string, unknown>;

  @IsOptional()
  @IsLabels()
  labels?: Record<string, string | number | boolean> | null;

  @WhenSent()
  @IsJsonObject()
  job_variables?: Record<string, unknown>;
}

@ForbidExtra()
export class DeploymentUpdateDto extends DeploymentFieldsDto {
  @WhenSent()
  @IsArray()
  @ValidateNested({ each: true })
  @Type(() => DeploymentScheduleUpdateDto)
  schedules?: DeploymentScheduleUpdateDto[];

  @IsOptional()
  @IsJsonObject()
  @IsSizedParameters()
  parameters?: Record<string, unknown> | null;

  @IsOptional()
  @IsJsonObject()
  job_variables?: Record<string, unknown> | null;

  @IsOptional()
  @IsBoolean()
  enforce_parameter_schema?: boolean | null;
}
