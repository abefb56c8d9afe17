import { Type } from 'class-transformer';
import { IsArray, IsDefined, IsString, IsUUID, ValidateNested } from 'class-validator';
import { ForbidExtra } from '../body-validation';
import type { OrchestrationResult, WorkerFlowRunResponse } from '../prefect/flow-run.responses';
import { ListLength, rule } from './validators';

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

/**
 * At most this many claims in one batch request: a worker holds no more messages than it can start, and the gateway
 * decides a batch's claims at once, so that one request cannot hold a gateway's database connections for long.
 */
export const MAX_CLAIMS_PER_REQUEST = 256;

/** No two claims of one batch name the same run: the second could only lose to the first. */
function DistinctFlowRuns(): PropertyDecorator {
  return rule(
    'distinctFlowRuns',
    (claims) => {
      // Anything but a list of objects is reported by the other rules.
      if (!Array.isArray(claims)) return true;
      const ids = claims.map((claim: unknown) => (claim as { flow_run_id?: unknown } | null)?.flow_run_id);
      return new Set(ids).size === ids.length;
    },
    { message: 'Value error, a flow_run_id appears more than once among the claims' },
  );
}

/**
 * The body of a batch claim on `<namespace>.api.flow-runs.claims.<pool id>` (docs/nats-workers.md): several claims of
 * the pool's runs in one request, each exactly the body of a single claim. Refused whole when malformed.
 */
@ForbidExtra()
export class ClaimFlowRunsRequestDto {
  @IsDefined()
  @IsArray()
  @ListLength(1, MAX_CLAIMS_PER_REQUEST)
  @ValidateNested({ each: true })
  @Type(() => ClaimFlowRunRequestDto)
  @DistinctFlowRuns()
  claims!: ClaimFlowRunRequestDto[];
}

/**
 * One claim's answer in a batch: the `Prefect-Status` and body the same claim would have been answered alone (its
 * {@link ClaimFlowRunReply}, or a Prefect error body such as a 404's).
 */
export interface ClaimAnswer {
  status: number;
  body: ClaimFlowRunReply | Record<string, unknown>;
}

/** The answer to a batch claim: one answer per claim, in the request's order. */
export interface ClaimFlowRunsReply {
  answers: ClaimAnswer[];
}

/** Claim subjects, below the namespace: one per pool, `api.flow-runs.claim.<pool id>` (see `natsNames().claim`). */
export const CLAIM_SUBJECT_PREFIX = 'api.flow-runs.claim';

/** Pattern of the claim handler: every pool's claim subject. */
export const CLAIM_PATTERN = `${CLAIM_SUBJECT_PREFIX}.*`;

/** Batch claim subjects, below the namespace: one per pool, `api.flow-runs.claims.<pool id>` (`natsNames().claims`). */
export const CLAIMS_SUBJECT_PREFIX = 'api.flow-runs.claims';

/** Pattern of the batch claim handler: every pool's batch claim subject. */
export const CLAIMS_PATTERN = `${CLAIMS_SUBJECT_PREFIX}.*`;

/** The pool a claim or batch claim subject names (its last token). */
export function claimSubjectPoolId(subject: string): string {
  return subject.slice(subject.lastIndexOf('.') + 1);
}
