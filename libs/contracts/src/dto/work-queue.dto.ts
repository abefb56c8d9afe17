import { IsArray, IsBoolean, IsDefined, IsOptional, IsString, IsUUID } from 'class-validator';
import { EmbeddedBody, ForbidExtra } from '../body-validation';
import { WorkQueueFilter } from './filters.dto';
import {
  IsDateTime,
  IsNestedModel,
  IsNonNegativeInteger,
  IsPositiveInteger,
  Limit,
  Offset,
  WhenSent,
} from './validators';
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
  @IsNonNegativeInteger()
  concurrency_limit?: number | null;

  /** Lower is served first; absent means the first free rank. */
  @IsOptional()
  @IsPositiveInteger()
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

  @WhenSent()
  @IsBoolean()
  is_paused?: boolean;

  @IsOptional()
  @IsNonNegativeInteger()
  concurrency_limit?: number | null;

  @IsOptional()
  @IsPositiveInteger()
  priority?: number | null;

  @IsOptional()
  @IsDateTime()
  last_polled?: Date | null;

  @IsOptional()
  @IsNestedModel(() => QueueFilterDto)
  filter?: QueueFilterDto | null;
}

/** `POST /work_pools/{work_pool_name}/queues/filter`; `limit` is resolved by the service. */
@EmbeddedBody()
export class WorkQueueFilterRequestDto {
  @IsOptional()
  @IsNestedModel(() => WorkQueueFilter)
  work_queues?: WorkQueueFilter | null;

  @Offset()
  offset = 0;

  @Limit()
  limit?: number | null;
}
