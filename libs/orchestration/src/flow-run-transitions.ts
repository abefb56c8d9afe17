import { AppConfig } from '@app/config';
import { StateCreateDto } from '@app/contracts';
import {
  deliveryAfterTransition,
  OrchestratedRun,
  orchestratedRun,
  OrchestrationContext,
  OrchestrationOutcome,
  proposedState,
  runChanges,
  startedSinceScheduled,
  stateFromRow,
  stateRow,
  TransitionEnvironment,
} from '@app/domain';
import { DispatchSignals } from '@app/messaging';
import { FlowRunEntity, Transaction } from '@app/persistence';
import { Injectable } from '@nestjs/common';
import { transactionalDeploymentConcurrency } from './deployment-concurrency';
import { FlowRunStateEvents } from './flow-run-state-events';

/** Who proposes a transition, as the rules see it. Server services propose as no client at all. */
export type TransitionClient = Pick<TransitionEnvironment, 'clientVersion' | 'apiVersion'>;

export interface TransitionOptions {
  client: TransitionClient;
  /** The policy the proposal goes through: the API's core (or forced) policy, the late-runs policy, ... */
  orchestrate: (context: OrchestrationContext) => Promise<OrchestrationOutcome>;
}

/**
 * Moves flow runs between states: the API's `set_state`, run creation and claims, and the scheduler's services all
 * orchestrate and commit a transition here, so every committed state takes the same path.
 */
@Injectable()
export class FlowRunTransitions {
  constructor(
    private readonly signals: DispatchSignals,
    private readonly config: AppConfig,
    private readonly events: FlowRunStateEvents,
  ) {}

  /**
   * Orchestrates `proposal` for `run` (locked by the caller, or created in this transaction) and records
   * the outcome.
   */
  async transition(
    tx: Transaction,
    run: FlowRunEntity,
    proposal: StateCreateDto,
    options: TransitionOptions,
  ): Promise<OrchestrationOutcome> {
    const now = new Date();
    const current = run.state_id ? await tx.flowRunStates.findById(run.state_id) : null;
    const history = await tx.flowRunStates.marksOf(run.id);
    const before = orchestratedRun(run);
    const context = new OrchestrationContext(
      orchestratedRun(run),
      current && stateFromRow(current),
      proposedState(proposal, now),
      {
        now,
        clientVersion: options.client.clientVersion,
        apiVersion: options.client.apiVersion,
        takenStateTimestamps: new Set(history.map((mark) => mark.timestamp.getTime())),
        startedSinceScheduled: startedSinceScheduled(history),
        deploymentConcurrency: transactionalDeploymentConcurrency(tx, this.config),
      },
    );
    const outcome = await options.orchestrate(context);
    await this.commit(tx, run, before, outcome);
    return outcome;
  }

  /**
   * The single place where a flow run's transition is committed: the new state joins the run's history and
   * becomes current, and the run takes the bookkeeping the rules did. Whatever must follow a committed
   * state hangs off here, through `tx.afterCommit`.
   */
  private async commit(
    tx: Transaction,
    run: FlowRunEntity,
    before: OrchestratedRun,
    outcome: OrchestrationOutcome,
  ): Promise<void> {
    const changes = runChanges(before, outcome.run);
    if (outcome.written && outcome.state) {
      await tx.flowRunStates.insert(stateRow(outcome.state, before.id));
      const delivery = deliveryAfterTransition(run, outcome.state, outcome.run.next_scheduled_start_time);
      await tx.flowRuns.patch(before.id, { ...changes, state_id: outcome.state.id, ...delivery });
      if (outcome.state.type === 'SCHEDULED') tx.afterCommit(() => this.signals.requestDispatch());
      const { initialState, state } = outcome;
      tx.afterCommit(() => this.events.publish(run, outcome.run, initialState, state));
    } else if (Object.keys(changes).length > 0) {
      await tx.flowRuns.patch(before.id, changes);
    }
  }
}
