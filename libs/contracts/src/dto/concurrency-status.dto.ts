import { IsInt, IsOptional, Max } from 'class-validator';
import { EmbeddedBody } from '../body-validation';
import { IsDateTime, IsInt32, Limit, NullMeansDefault } from './validators';

/**
 * `POST /work_queues/{id}/concurrency_status`: embedded body fields, all optional (no body means the defaults); an
 * explicit null means absent, as FastAPI reads it. `limit` is resolved against the configured default.
 */
@EmbeddedBody()
export class WorkQueueConcurrencyStatusRequestDto {
  @NullMeansDefault(1) @IsInt32({ min: 1 }) page = 1;
  @Limit() limit?: number | null;
}

/** `POST /work_pools/{name}/concurrency_status`: pages of queues, each listing at most `flow_run_limit` runs. */
export class WorkPoolConcurrencyStatusRequestDto extends WorkQueueConcurrencyStatusRequestDto {
  @NullMeansDefault(10) @IsInt32({ min: 0 }) @Max(200) flow_run_limit = 10;
}

/** `POST /work_queues/{id}/get_runs` (`prefect work-queue read-runs`). */
@EmbeddedBody()
export class WorkQueueGetRunsDto {
  @IsOptional() @IsDateTime() scheduled_before?: Date | null;
  @IsOptional() @IsInt() limit?: number | null;
}
