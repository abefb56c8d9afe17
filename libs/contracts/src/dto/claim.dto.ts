import { IsDefined, IsString, IsUUID } from 'class-validator';
import { ForbidExtra } from '../body-validation';
import type { OrchestrationResult, WorkerFlowRunResponse } from '../prefect/flow-run.responses';

/**
 * The body of a claim request on `<namespace>.api.flow-runs.claim.<pool id>` (docs/nats-workers.md): the run, the
 * message that delivered it, and the worker's id for this claim, kept when the claim is resent.
 */
@ForbidExtra()
export class ClaimFlowRunRequestDto {
  @IsDefined()
  @IsUUID('all')
  flow_run_id!: string;

  /** The `Nats-Msg-Id` of the message the worker holds (`<run id>:<state id>:<epoch>`); it must stand for `flow_run_id`. */
  @IsDefined()
  @IsString()
  publication!: string;

  /** Becomes the PENDING state's `state_details.transition_id`: a resent claim that won is recognised by it. */
  @IsDefined()
  @IsUUID('all')
  transition_id!: string;
}

/**
 * The answer to a claim: what `set_state` would answer and, when the run is the claimer's (ACCEPT, or its own
 * claim resent and recognised), `run`: the run to execute, as the claim left it in the database.
 */
export interface ClaimFlowRunReply extends OrchestrationResult {
  run?: WorkerFlowRunResponse;
}

/** Claim subjects, below the namespace: one per pool, `api.flow-runs.claim.<pool id>` (see `natsNames().claim`). */
export const CLAIM_SUBJECT_PREFIX = 'api.flow-runs.claim';

/** Pattern of the claim handler: every pool's claim subject. */
export const CLAIM_PATTERN = `${CLAIM_SUBJECT_PREFIX}.*`;

/** The pool a claim subject names (its last token). */
export function claimSubjectPoolId(subject: string): string {
  return subject.slice(subject.lastIndexOf('.') + 1);
}
