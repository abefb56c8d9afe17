import { IsBoolean, IsDefined, IsOptional, IsUUID } from 'class-validator';
import { ForbidExtra } from '../body-validation';
import { StateCreateDto } from './state.dto';
import { IsNestedModel } from './validators';

/** The body of a claim request on `<namespace>.api.flow-runs.claim.<pool id>` (docs/nats-workers.md). */
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

/** Claim subjects, below the namespace: one per pool, `api.flow-runs.claim.<pool id>` (see `natsNames().claim`). */
export const CLAIM_SUBJECT_PREFIX = 'api.flow-runs.claim';

/** Pattern of the claim handler: every pool's claim subject. */
export const CLAIM_PATTERN = `${CLAIM_SUBJECT_PREFIX}.*`;

/** The pool a claim subject names (its last token). */
export function claimSubjectPoolId(subject: string): string {
  return subject.slice(subject.lastIndexOf('.') + 1);
}
