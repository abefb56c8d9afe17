import { IsArray, IsInt, IsOptional, IsString } from 'class-validator';
import { IsDateTime } from './validators';
import { EmbeddedBody } from '../body-validation';

/**
 * `POST /work_pools/{name}/get_scheduled_flow_runs`: four embedded body fields, all optional (no body at all
 * means all defaults); unknown keys are ignored and an explicit null means absent, as FastAPI reads it.
 */
@EmbeddedBody()
export class GetScheduledFlowRunsDto {
  @IsOptional()
  @IsArray()
  @IsString({ each: true })
  work_queue_names?: string[] | null;

  @IsOptional()
  @IsDateTime()
  scheduled_before?: Date | null;

  @IsOptional()
  @IsDateTime()
  scheduled_after?: Date | null;

  /** Resolved against the configured default by the service (`resolveLimit`). */
  @IsOptional()
  @IsInt()
  limit?: number | null;
}
