import { ClaimAnswer, ClaimFlowRunReply, ClaimFlowRunsReply } from '@app/contracts';
import {
  DomainError,
  domainErrorResponse,
  mayClaimOffer,
  objectNotFound,
  OrchestrationOutcome,
  presentOrchestrationResult,
  presentState,
  presentWorkerFlowRun,
  RunState,
  slotBudget,
  slotsLimited,
  stateFromRow,
} from '@app/domain';
import { RpcReply } from '@app/messaging';
import { Database, FlowRunEntity, LockedForClaim, Transaction } from '@app/persistence';
import { Injectable } from '@nestjs/common';
import { GatewayMetrics } from '@gateway/metrics/gateway-metrics';
import { ValidClaim } from './claim-request.pipe';
import { FlowRunStateService } from './flow-run-state.service';

/** How long a NATS worker should hold off when the queue or pool has no free slot. */
const NO_SLOT_RETRY_SECONDS = 1;

/** A first attempt found the pool's slots locked while holding its run: it must start again in the poll's order. */
const POOL_SLOTS_BUSY = Symbol('pool slots busy');

/**
 * A claim sent over NATS by a worker that took the run straight from the bus: `set_state` PENDING through the same
 * orchestration as `POST /flow_runs/{id}/set_state`, plus what holding a message means.
 *
 * - A claim names its pool (the subject's last token): a run of another pool, or of none, is not found, so that a
 *   worker allowed only its pool's claim subject can touch no other run.
 * - The message must still be the run's current delivery (`mayClaimOffer`): a run no longer SCHEDULED, a message
 *   published before the run was published again, or a run a poller holds a lease on, is not the claimer's.
 * - The queue and pool concurrency limits: a poll counts a run it hands out as busy through its lease; a run taken
 *   from NATS holds no lease, so its claim must find a free slot itself.
 * - The worker's `transition_id` goes into the PENDING state, so that a resent claim that already won is answered
 *   as a duplicate transition; a claim that wins, first time or resent, gets the run to execute, read from the row.
 *
 * Claims that count no slots and that the fence lets through share transactions with the concurrent proposals
 * (`FlowRunProposals.claim`), so that many workers' claims share a commit; every other claim is decided in a
 * transaction of its own, as one that came alone is.
 */
@Injectable()
export class FlowRunClaimService {
  constructor(
    private readonly db: Database,
    private readonly states: FlowRunStateService,
    private readonly metrics: GatewayMetrics,
  ) {}

  /** The reply to a valid claim; a refusal (not found) is thrown as a domain error. */
  claim(poolId: string, claim: ValidClaim): Promise<RpcReply> {
    return this.metrics.setState(
      () => this.decide(poolId, claim),
      (reply) => (reply.body as ClaimFlowRunReply).status,
    );
  }

  /**
   * The answers to a batch of valid claims of the pool, in order, each what {@link claim} answers it alone: a claim
   * refused (not found) is answered by its own error, the others still decided. Decided at once, so that those that
   * count no slots share the batches of `FlowRunProposals` (one lock statement, one write, one commit for all). A
   * failure of the server (database or NATS unavailable, anything unexpected) fails the whole request: the worker
   * resends the batch unchanged, and each claim that won meanwhile is recognised by its transition id.
   */
  async claimAll(poolId: string, claims: ValidClaim[]): Promise<RpcReply> {
    const settled = await Promise.allSettled(claims.map((claim) => this.claim(poolId, claim)));
    const answers = settled.map((outcome, i): ClaimAnswer => {
      if (outcome.status === 'fulfilled') return outcome.value as ClaimAnswer;
      const error: unknown = outcome.reason;
      if (!(error instanceof DomainError) || error.code === 'unavailable') throw error;
      return domainErrorResponse(error, claims[i].request) as ClaimAnswer;
    });
    const body: ClaimFlowRunsReply = { answers };
    return { status: 200, body };
  }

  /**
   * A claim that counts no slots and passes the fence joins the batch of concurrent proposals (one lock statement,
   * one write, one commit for all). Alone, or sent back by the batch, it takes one transaction of two statements (the
   * run locked and read with everything the claim needs, then the write) when it counts no slots. The pool's slots
   * are locked only where a limit makes claims and polls compete for them; a poll takes that lock before the runs it
   * hands out, so a claim holding its run must not wait for it: should it be taken, the claim starts again in the
   * poll's order.
   */
  private async decide(poolId: string, claim: ValidClaim): Promise<RpcReply> {
    const batched = await this.states.claimInBatch(poolId, claim.request, (locked) => this.alone(locked, claim));
    if (!('alone' in batched)) {
      const { flow_run_id: id, transition_id: transitionId } = claim.request;
      // A run in the pool is in a queue of it; this only tells TypeScript so.
      const queueId = batched.outcome && batched.run.work_queue_id;
      if (!queueId) throw objectNotFound(`Flow run with id ${id} not found`);
      return answer(batched.outcome, { ...batched.run, work_queue_id: queueId }, poolId, transitionId);
    }
    const first = await this.db.transaction((tx) => this.attempt(tx, poolId, claim, false));
    if (first !== POOL_SLOTS_BUSY) return first;
    return this.db.transaction(async (tx) => {
      await tx.delivery.lockPoolSlots(poolId);
      return (await this.attempt(tx, poolId, claim, true)) as RpcReply;
    });
  }

  /**
   * Whether a claim of the locked run must be decided alone, by {@link attempt}: a slot to count, or the fence to
   * refuse it (a resent claim goes straight to orchestration, which recognises it if it won).
   */
  private alone({ run, current, limits }: LockedForClaim, { request, offer }: ValidClaim): boolean {
    const queue = { id: run.work_queue_id ?? '', concurrency_limit: limits.queue };
    if (slotsLimited({ id: '', concurrency_limit: limits.pool }, [queue])) return true;
    if (current?.state_details?.transition_id === request.transition_id) return false;
    return !mayClaimOffer(run, offer, new Date());
  }

  private async attempt(
    tx: Transaction,
    poolId: string,
    { request, offer }: ValidClaim,
    slotsLocked: boolean,
  ): Promise<RpcReply | typeof POOL_SLOTS_BUSY> {
    const { flow_run_id: id, transition_id: transitionId } = request;
    const locked = await tx.flowRuns.lockForClaim(id, poolId);
    if (!locked?.run.work_queue_id) throw objectNotFound(`Flow run with id ${id} not found`);
    const { run, limits } = locked;
    const queueId = locked.run.work_queue_id;
    const state = locked.current && stateFromRow(locked.current);
    // A resent claim goes straight to orchestration, which recognises it if it won.
    if (state?.state_details.transition_id !== transitionId) {
      if (!mayClaimOffer(run, offer, new Date())) {
        const reason =
          run.state_type === 'SCHEDULED'
            ? 'This message is no longer the delivery of this run: it was published again, or another worker holds it.'
            : `This run is in a ${run.state_type} state and cannot transition to a PENDING state.`;
        return unwritten(state, 'ABORT', { type: 'abort_details', reason });
      }
      const pool = { id: poolId, concurrency_limit: limits.pool };
      const queue = { id: queueId, concurrency_limit: limits.queue };
      if (slotsLimited(pool, [queue])) {
        if (!slotsLocked && !(await tx.delivery.tryLockPoolSlots(poolId))) return POOL_SLOTS_BUSY;
        const held = await tx.delivery.busySlotsOfPool(poolId, new Date());
        if (slotBudget(1, pool, held).queueAllowance(queue) === 0) {
          return unwritten(state, 'WAIT', {
            type: 'wait_details',
            delay_seconds: NO_SLOT_RETRY_SECONDS,
            reason: 'No free slot in the work queue or work pool.',
          });
        }
      }
    }
    const proposal = { type: 'PENDING' as const, state_details: { transition_id: transitionId } };
    const { outcome, run: written } = await this.states.transitionLocked(tx, locked, proposal, {
      force: false,
      client: { clientVersion: null, apiVersion: null },
    });
    return answer(outcome, { ...written, work_queue_id: queueId }, poolId, transitionId);
  }
}

/** The answer to a claim orchestrated: the run as written for the claimer when the claim is its. */
function answer(
  outcome: OrchestrationOutcome,
  written: FlowRunEntity & { work_queue_id: string },
  poolId: string,
  transitionId: string,
): RpcReply {
  const body: ClaimFlowRunReply = presentOrchestrationResult(outcome);
  if (won(outcome, transitionId)) body.run = presentWorkerFlowRun(written, poolId);
  return { status: outcome.written ? 201 : 200, body };
}

/** An answer that writes nothing: the run keeps its current state. */
function unwritten(state: RunState | null, status: 'ABORT' | 'WAIT', details: ClaimFlowRunReply['details']): RpcReply {
  const body: ClaimFlowRunReply = { state: state && presentState(state), status, details };
  return { status: 200, body };
}

/** The claim is the claimer's: accepted now, or accepted before and recognised by its transition id. */
function won(outcome: OrchestrationOutcome, transitionId: string): boolean {
  if (outcome.status === 'ACCEPT') return true;
  return (
    outcome.status === 'REJECT' &&
    outcome.state?.type === 'PENDING' &&
    outcome.state.state_details.transition_id === transitionId
  );
}
