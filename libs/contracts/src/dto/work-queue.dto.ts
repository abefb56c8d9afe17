import { IsArray, IsBoolean, IsDefined, IsInt, IsOptional, IsString, IsUUID, Min, ValidateIf } from 'class-validator';
import { ForbidExtra } from '../body-validation';
import { WorkQueueFilter } from './filters.dto';
import { IsDateTime, IsNestedModel, Offset } from './validators';
import { IsObjectName } from './work-pool.dto';

/** The deprecated `QueueFilter` some clients still send; stored and returned as given. */
export class QueueFilterDto {
  @IsOptional()
  @IsArray()
  @IsString({ each: true })
  tags?: string[] | null;

  @IsOptional()
  @IsArray()
  @IsUUID('all', { each: true })
  deployment_ids?: string[] | null;
}

@ForbidExtra()
export class WorkQueueCreateDto {
  @IsDefined()
  @IsString()
  @IsObjectName({ nonEmptyish: false })
  name!: string;

  @IsOptional()
  @IsString()
  description: string | null = '';

  @IsBoolean()
  is_paused = false;

  @IsOptional()
  @IsInt()
  @Min(0)
  concurrency_limit?: number | null;

  /** Lower is served first; absent means the first free rank. */
  @IsOptional()
  @IsInt()
  @Min(1)
  priority?: number | null;

  @IsOptional()
  @IsNestedModel(() => QueueFilterDto)
  filter?: QueueFilterDto | null;
}

/** Every field optional; a field present in the body (even as null) is an update of that field. */
@ForbidExtra()
export class WorkQueueUpdateDto {
  // Unlike creation, Prefect puts no pattern on a new name.
  @IsOptional()
  @IsString()
  name?: string | null;

  @IsOptional()
  @IsString()
  description?: string | null;

  // Not nullable in Prefect's model: only absence skips it.
  @ValidateIf((_dto, value) => value !== undefined)
  @IsBoolean()
  is_paused?: boolean;

  @IsOptional()
  @IsInt()
  @Min(0)
  concurrency_limit?: number | null;

  @IsOptional()
  @IsInt()
  @Min(1)
  priority?: number | null;

  @IsOptional()
  @IsDateTime()
  last_polled?: Date | null;

  @IsOptional()
  @IsNestedModel(() => QueueFilterDto)
  filter?: QueueFilterDto | null;
}

/** `POST /work_pools/{work_pool_name}/queues/filter`; `limit` is resolved by the service. */
export class WorkQueueFilterRequestDto {
  @IsOptional()
  @IsNestedModel(() => WorkQueueFilter)
  work_queues?: WorkQueueFilter | null;

  @Offset()
  offset = 0;

  @IsOptional()
  @IsInt()
  limit?: number | null;
}
