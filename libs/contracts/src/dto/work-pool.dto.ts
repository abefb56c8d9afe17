import { IsBoolean, IsDefined, IsOptional, IsString, IsUUID } from 'class-validator';
import { EmbeddedBody, ForbidExtra } from '../body-validation';
import { WorkPoolFilter } from './filters.dto';
import {
  BANNED_NAME_CHARACTERS,
  IsJsonObject,
  IsNestedModel,
  IsNonNegativeInteger,
  Limit,
  Offset,
  rule,
} from './validators';

const NAME_PATTERN = `^[^${BANNED_NAME_CHARACTERS.join('')}]+$`;
const NAME = new RegExp(NAME_PATTERN);

/**
 * Prefect's `Name` (a string matching `^[^/%&><]+$`) or, with `nonEmptyish`, its `NonEmptyishName`, which
 * first refuses names that are empty once quotes and spaces are stripped. Messages are pydantic's.
 */
export function IsObjectName({ nonEmptyish }: { nonEmptyish: boolean }): PropertyDecorator {
  const emptyish = (value: string) => nonEmptyish && value.replace(/^['" ]+|['" ]+$/g, '') === '';
  // Non-strings are IsString's to report, as pydantic reports only the type.
  return rule('isObjectName', (value) => typeof value !== 'string' || (!emptyish(value) && NAME.test(value)), {
    constraints: [NAME_PATTERN],
    message: ({ value }) =>
      emptyish(value as string)
        ? 'Value error, name cannot be an empty string'
        : `String should match pattern '${NAME_PATTERN}'`,
  });
}

@ForbidExtra()
export class WorkPoolStorageConfigurationDto {
  @IsOptional()
  @IsJsonObject()
  bundle_upload_step?: Record<string, unknown> | null;

  @IsOptional()
  @IsJsonObject()
  bundle_execution_step?: Record<string, unknown> | null;

  @IsOptional()
  @IsUUID('all')
  default_result_storage_block_id?: string | null;
}

@ForbidExtra()
export class WorkPoolCreateDto {
  @IsDefined()
  @IsString()
  @IsObjectName({ nonEmptyish: true })
  name!: string;

  @IsOptional()
  @IsString()
  description?: string | null;

  @IsString()
  type = 'prefect-agent';

  @IsJsonObject()
  base_job_template: Record<string, unknown> = {};

  @IsBoolean()
  is_paused = false;

  @IsOptional()
  @IsNonNegativeInteger()
  concurrency_limit?: number | null;

  @IsNestedModel(() => WorkPoolStorageConfigurationDto)
  storage_configuration = new WorkPoolStorageConfigurationDto();
}

/** Every field optional; a field present in the body (even as null) is an update of that field. */
@ForbidExtra()
export class WorkPoolUpdateDto {
  @IsOptional()
  @IsString()
  description?: string | null;

  @IsOptional()
  @IsBoolean()
  is_paused?: boolean | null;

  @IsOptional()
  @IsJsonObject()
  base_job_template?: Record<string, unknown> | null;

  @IsOptional()
  @IsNonNegativeInteger()
  concurrency_limit?: number | null;

  @IsOptional()
  @IsNestedModel(() => WorkPoolStorageConfigurationDto)
  storage_configuration?: WorkPoolStorageConfigurationDto | null;
}

/** `POST /work_pools/count`. */
@EmbeddedBody()
export class WorkPoolCountRequestDto {
  @IsOptional()
  @IsNestedModel(() => WorkPoolFilter)
  work_pools?: WorkPoolFilter | null;
}

/** `POST /work_pools/filter`; `limit` is resolved against the configured default by the service. */
export class WorkPoolFilterRequestDto extends WorkPoolCountRequestDto {
  @Offset()
  offset = 0;

  @Limit()
  limit?: number | null;
}
