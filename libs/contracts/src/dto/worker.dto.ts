import { IsArray, IsDefined, IsIn, IsOptional, IsString } from 'class-validator';
import { EmbeddedBody, ForbidExtra } from '../body-validation';
import { FILTER_OPERATORS, FilterOperator } from './filters.dto';
import { compose, enumMessage, IsDateTime, IsInt32, IsNestedModel, Limit, Offset } from './validators';

export const WORKER_STATUSES = ['ONLINE', 'OFFLINE'] as const;
export type WorkerStatusName = (typeof WORKER_STATUSES)[number];

/** `POST /work_pools/{work_pool_name}/workers/heartbeat` (embedded body: unknown keys such as Cloud's `metadata` are dropped). */
@EmbeddedBody()
export class WorkerHeartbeatDto {
  @IsDefined()
  @IsString()
  name!: string;

  /** Clients send a float (`30.0`); JSON parsing makes it the integer Prefect accepts. */
  @IsOptional()
  @IsInt32()
  heartbeat_interval_seconds?: number | null;
}

@ForbidExtra()
export class WorkerFilterLastHeartbeatTime {
  @IsOptional()
  @IsDateTime()
  before_?: Date | null;

  @IsOptional()
  @IsDateTime()
  after_?: Date | null;
}

const StatusList = (): PropertyDecorator =>
  compose(IsOptional(), IsArray(), IsIn(WORKER_STATUSES, { each: true, message: enumMessage(WORKER_STATUSES) }));

@ForbidExtra()
export class WorkerFilterStatus {
  @StatusList()
  any_?: WorkerStatusName[] | null;

  @StatusList()
  not_any_?: WorkerStatusName[] | null;
}

/** Prefect's `WorkerFilter`. */
@ForbidExtra()
export class WorkerFilter {
  @IsIn(FILTER_OPERATORS, { message: enumMessage(FILTER_OPERATORS) })
  operator: FilterOperator = 'and_';

  @IsOptional()
  @IsNestedModel(() => WorkerFilterLastHeartbeatTime)
  last_heartbeat_time?: WorkerFilterLastHeartbeatTime | null;

  @IsOptional()
  @IsNestedModel(() => WorkerFilterStatus)
  status?: WorkerFilterStatus | null;
}

/** `POST /work_pools/{work_pool_name}/workers/filter`; `limit` is resolved by the service. */
@EmbeddedBody()
export class WorkerFilterRequestDto {
  @IsOptional()
  @IsNestedModel(() => WorkerFilter)
  workers?: WorkerFilter | null;

  @Offset()
  offset = 0;

  @Limit()
  limit?: number | null;
}
