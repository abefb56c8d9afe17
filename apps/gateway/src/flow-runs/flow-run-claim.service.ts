import { ClaimFlowRunReply } from '@app/contracts';
import {
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
import { Database, FlowRunEntity, Transaction } from '@app/persistence';
import { Injectable } from '@nestjs/common';
import { GatewayMetrics } from '@gateway/metrics/gateway-metrics';
import { ValidClaim } from './claim-request.pipe';
import { FlowRunStateService } from './flow-run-state.service';

/** How long a NATS worker should hold off when the queue or pool has no free slot. */
const NO_SLOT_RETRY_SECONDS = 1;

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

  private async decide(poolId: string, { request, offer }: ValidClaim): Promise<RpcReply> {
    const { flow_run_id: id, transition_id: transitionId } = request;
    // Lock order as in a poll (the pool's slots, then the run), so the two cannot deadlock.
    const unlocked = await this.db.repos.flowRuns.findById(id);
    const queue = unlocked?.work_queue_id ? await this.db.repos.workQueues.findById(unlocked.work_queue_id) : null;
    const notFound = objectNotFound(`Flow run with id ${id} not found`);
    if (!queue || queue.work_pool_id !== poolId) throw notFound;
    return this.db.transaction(async (tx) => {
      await tx.delivery.lockPoolSlots(queue.work_pool_id);
      const run = await tx.flowRuns.findByIdForUpdate(id);
      if (!run || run.work_queue_id !== queue.id) throw notFound;
      const current = run.state_id ? await tx.flowRunStates.findById(run.state_id) : null;
      const state = current && stateFromRow(current);
      // A resent claim goes straight to orchestration, which recognises it if it won.
      if (state?.state_details.transition_id !== transitionId) {
        if (!mayClaimOffer(run, offer, new Date())) {
          const reason =
            run.state_type === 'SCHEDULED'
              ? 'This message is no longer the delivery of this run: it was published again, or another worker holds it.'
              : `This run is in a ${run.state_type} state and cannot transition to a PENDING state.`;
          return unwritten(state, 'ABORT', { type: 'abort_details', reason });
        }
        if (!(await this.hasFreeSlot(tx, queue.id))) {
          return unwritten(state, 'WAIT', {
            type: 'wait_details',
            delay_seconds: NO_SLOT_RETRY_SECONDS,
            reason: 'No free slot in the work queue or work pool.',
          });
        }
      }
      const proposal = { type: 'PENDING' as const, state_details: { transition_id: transitionId } };
      const outcome = await this.states.transition(tx, run, proposal, {
        force: false,
        client: { clientVersion: null, apiVersion: null },
      });
      const body: ClaimFlowRunReply = presentOrchestrationResult(outcome);
      if (won(outcome, transitionId)) {
        const claimed = (await tx.flowRuns.findById(id)) as FlowRunEntity & { work_queue_id: string };
        body.run = presentWorkerFlowRun(claimed, queue.work_pool_id);
      }
      return { status: outcome.written ? 201 : 200, body };
    });
  }

  /** Whether the queue and its pool can take one more active run. */
  private async hasFreeSlot(tx: Transaction, queueId: string): Promise<boolean> {
    const queue = await tx.workQueues.findById(queueId);
    const pool = queue && (await tx.workPools.findById(queue.work_pool_id));
    if (!queue || !pool || !slotsLimited(pool, [queue])) return true;
    const active = (await tx.delivery.queuesOfPool(pool.id)).filter((q) => !q.is_paused);
    const held = await tx.delivery.busySlots(
      active.map((q) => q.id),
      new Date(),
    );
    return slotBudget(1, pool, held).queueAllowance(queue) > 0;
  }
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
