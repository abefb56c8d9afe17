import { OrchestrationResult, SetFlowRunStateDto, StateCreateDto } from '@app/contracts';
import {
  objectNotFound,
  OrchestratedRun,
  orchestratedRun,
  orchestrateFlowRun,
  OrchestrationContext,
  OrchestrationOutcome,
  presentOrchestrationResult,
  proposedState,
  runChanges,
  stateFromRow,
  stateRow,
} from '@app/domain';
import { DispatchSignals } from '@app/messaging';
import { Database, FlowRunEntity, Transaction } from '@app/persistence';
import { Injectable } from '@nestjs/common';
import type { OrchestrationClient } from './orchestration-client.decorator';

/** Moves flow runs between states through Prefect's orchestration rules. */
@Injectable()
export class FlowRunStateService {
  constructor(
    private readonly db: Database,
    private readonly signals: DispatchSignals,
  ) {}

  /**
   * `POST /flow_runs/{id}/set_state`. The run stays locked from the read to the commit, so concurrent
   * proposals for one run are orchestrated one after the other: of two workers claiming a SCHEDULED run,
   * the second sees PENDING and is told to abort. `created` says whether a new state was written.
   */
  async setState(id: string, body: SetFlowRunStateDto, client: OrchestrationClient): Promise<{ result: OrchestrationResult; created: boolean }> {
    return this.db.transaction(async (tx) => {
      const run = await tx.flowRuns.findByIdForUpdate(id);
      if (!run) throw objectNotFound(`Flow run with id ${id} not found`);
      const outcome = await this.transition(tx, run, body.state, { force: body.force === true, client });
      return { result: presentOrchestrationResult(outcome), created: outcome.written };
    });
  }

  /**
   * Orchestrates `proposal` for `run` (locked by the caller, or created in this transaction) and records
   * the outcome.
   */
  async transition(
    tx: Transaction,
    run: FlowRunEntity,
    proposal: StateCreateDto,
    options: { force: boolean; client: OrchestrationClient },
  ): Promise<OrchestrationOutcome> {
    const now = new Date();
    const current = run.state_id ? await tx.flowRunStates.findById(run.state_id) : null;
    const taken = await tx.flowRunStates.timestampsOf(run.id);
    const before = orchestratedRun(run);
    const context = new OrchestrationContext(orchestratedRun(run), current && stateFromRow(current), proposedState(proposal, now), {
      now,
      clientVersion: options.client.clientVersion,
      apiVersion: options.client.apiVersion,
      takenStateTimestamps: new Set(taken.map((timestamp) => timestamp.getTime())),
    });
    const outcome = await orchestrateFlowRun(context, { force: options.force });
    await this.commit(tx, before, outcome);
    return outcome;
  }

  /**
   * The single place where a flow run's transition is committed: the new state joins the run's history and
   * becomes current, and the run takes the bookkeeping the rules did. Whatever must follow a committed
   * state hangs off here, through `tx.afterCommit`.
   */
  private async commit(tx: Transaction, before: OrchestratedRun, outcome: OrchestrationOutcome): Promise<void> {
    const changes = runChanges(before, outcome.run);
    if (outcome.written && outcome.state) {
      await tx.flowRunStates.insert(stateRow(outcome.state, before.id));
      // A new state ends any delivery lease: the claim (SCHEDULED → PENDING) consumes it, and a run
      // rescheduled gets published afresh in its new state.
      await tx.flowRuns.patch(before.id, { ...changes, state_id: outcome.state.id, leased_until: null });
      if (outcome.state.type === 'SCHEDULED') tx.afterCommit(() => this.signals.requestDispatch());
    } else if (Object.keys(changes).length > 0) {
      await tx.flowRuns.patch(before.id, changes);
    }
  }
}
