import { ClaimFlowRunRequestDto, unstorableStrings, validateModel } from '@app/contracts';
import { DomainError, freeSlots, objectNotFound, presentOrchestrationResult, presentState, stateFromRow, validationFailed } from '@app/domain';
import { RpcReply } from '@app/messaging';
import { Database, FlowRunEntity, Transaction } from '@app/persistence';
import { Injectable } from '@nestjs/common';
import { domainErrorResponse } from '../http/prefect-exception.filter';
import { FlowRunStateService } from './flow-run-state.service';

/** How long a NATS worker should hold off when the queue or pool has no free slot. */
const NO_SLOT_RETRY_SECONDS = 1;

/**
 * A claim sent over NATS by a worker that took the run straight from the bus: the same orchestration as
 * `POST /flow_runs/{id}/set_state`, plus the queue and pool concurrency limits. A poll counts a run it hands out
 * as busy through its lease; a run taken from NATS holds no lease, so its claim must find a free slot itself.
 */
@Injectable()
export class FlowRunClaimService {
  constructor(
    private readonly db: Database,
    private readonly states: FlowRunStateService,
  ) {}

  async claim(request: unknown): Promise<RpcReply> {
    const unstorable = unstorableStrings(request);
    if (unstorable.length > 0) return domainErrorResponse(validationFailed(unstorable), request);
    const parsed = validateModel(ClaimFlowRunRequestDto, request);
    if (!parsed.ok) return domainErrorResponse(validationFailed(parsed.errors), request);
    const { flow_run_id: id, force } = parsed.value;
    const proposal = parsed.value.state ?? { type: 'PENDING' as const };
    try {
      // Lock order as in a poll (the pool's slots, then the run), so the two cannot deadlock.
      const unlocked = await this.db.repos.flowRuns.findById(id);
      const queue = unlocked?.work_queue_id ? await this.db.repos.workQueues.findById(unlocked.work_queue_id) : null;
      return await this.db.transaction(async (tx) => {
        if (queue) await tx.delivery.lockPoolSlots(queue.work_pool_id);
        const run = await tx.flowRuns.findByIdForUpdate(id);
        if (!run) throw objectNotFound(`Flow run with id ${id} not found`);
        if (proposal.type === 'PENDING' && run.state_type === 'SCHEDULED' && !force && !(await this.hasFreeSlot(tx, run))) {
          const current = run.state_id ? await tx.flowRunStates.findById(run.state_id) : null;
          return {
            status: 200,
            body: {
              state: current && presentState(stateFromRow(current)),
              status: 'WAIT',
              details: { type: 'wait_details', delay_seconds: NO_SLOT_RETRY_SECONDS, reason: 'No free slot in the work queue or work pool.' },
            },
          };
        }
        const outcome = await this.states.transition(tx, run, proposal, { force: force === true, client: { clientVersion: null, apiVersion: null } });
        return { status: outcome.written ? 201 : 200, body: presentOrchestrationResult(outcome) };
      });
    } catch (error) {
      if (error instanceof DomainError) return domainErrorResponse(error, request);
      throw error;
    }
  }

  /** Whether the run's queue and pool can take one more active run (a run it already leased holds its slot). */
  private async hasFreeSlot(tx: Transaction, run: FlowRunEntity): Promise<boolean> {
    if (!run.work_queue_id || (run.leased_until && run.leased_until > new Date())) return true;
    const queue = await tx.workQueues.findById(run.work_queue_id);
    const pool = queue && (await tx.workPools.findById(queue.work_pool_id));
    if (!queue || !pool || (queue.concurrency_limit === null && pool.concurrency_limit === null)) return true;
    const active = (await tx.delivery.queuesOfPool(pool.id)).filter((q) => !q.is_paused);
    const busy = await tx.delivery.busySlots(active.map((q) => q.id), new Date());
    const poolBusy = [...busy.values()].reduce((sum, count) => sum + count, 0);
    return freeSlots(queue.concurrency_limit, busy.get(queue.id) ?? 0) > 0 && freeSlots(pool.concurrency_limit, poolBusy) > 0;
  }
}
