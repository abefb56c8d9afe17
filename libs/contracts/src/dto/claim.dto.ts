import { IsBoolean, IsDefined, IsOptional, IsUUID } from 'class-validator';
import { ForbidExtra } from '../body-validation';
import { StateCreateDto } from './state.dto';
import { IsNestedModel } from './validators';

/** The body of a claim request on `<namespace>.api.flow-runs.claim` (docs/nats-workers.md). */
@ForbidExtra()
export class ClaimFlowRunRequestDto {
  @IsDefined()
  @IsUUID('all')
  flow_run_id!: string;

  /** Defaults to `{"type": "PENDING"}`: the claim. */
  @IsOptional()
  @IsNestedModel(() => StateCreateDto)
  state?: StateCreateDto | null;

  @IsOptional()
  @IsBoolean()
  force?: boolean | null;
}

/** Pattern of the claim handler; the subject is `<namespace>.` + this (see `natsNames().claim`). */
export const CLAIM_PATTERN = 'api.flow-runs.claim';
