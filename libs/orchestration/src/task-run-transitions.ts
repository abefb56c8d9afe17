import { AppConfig } from '@app/config';
import { StateCreateDto } from '@app/contracts';
import {
  orchestratedTaskRun,
  orchestrateTaskRun,
  EnclosingFlowRun,
  OrchestrationContext,
  OrchestrationOutcome,
  proposedState,
  runChanges,
  stateFromRow,
  stateRow,
} from '@app/domain';
import { TaskRunEntity, Transaction } from '@app/persistence';
import { Injectable } from '@nestjs/common';
import { transactionalDeploymentConcurrency } from './deployment-concurrency';
import type { TransitionClient } from './flow-run-transitions';

/** Moves task runs between states: `POST /task_runs/` with a state, and `POST /task_runs/{id}/set_state`. */
@Injectable()
export class TaskRunTransitions {
  constructor(private readonly config: AppConfig) {}

  /**
   * Orchestrates `proposal` for `task` (locked by the caller, or created in this transaction) and records the
   * outcome. `force` skips the core rules, as Prefect does for `force: true` and for a new task run's first state.
   */
  async transition(
    tx: Transaction,
    task: TaskRunEntity,
    proposal: StateCreateDto,
    client: TransitionClient,
    force: boolean,
  ): Promise<OrchestrationOutcome> {
    const now = new Date();
    // Only a RUNNING proposal under the core rules looks at the flow run.
    const flowRun = !force && proposal.type === 'RUNNING' ? await this.enclosingFlowRun(tx, task) : null;
    const current = task.state_id ? await tx.taskRunStates.findById(task.state_id) : null;
    const taken = await tx.taskRunStates.timestampsOf(task.id);
    const before = orchestratedTaskRun(task);
    const context = new OrchestrationContext(
      orchestratedTaskRun(task),
      current && stateFromRow(current),
      proposedState(proposal, now),
      {
        now,
        clientVersion: client.clientVersion,
        apiVersion: client.apiVersion,
        takenStateTimestamps: new Set(taken.map((timestamp) => timestamp.getTime())),
        startedSinceScheduled: false,
        deploymentConcurrency: transactionalDeploymentConcurrency(tx, this.config),
      },
    );
    const outcome = await orchestrateTaskRun(context, task, { flowRun, force });
    const changes = runChanges(before, outcome.run);
    if (outcome.written && outcome.state) {
      const { flow_run_id: _flowRunId, ...row } = stateRow(outcome.state, task.id);
      await tx.taskRunStates.insert({ ...row, task_run_id: task.id });
      await tx.taskRuns.patch(task.id, { ...changes, state_id: outcome.state.id });
    } else if (Object.keys(changes).length > 0) {
      await tx.taskRuns.patch(task.id, changes);
    }
    return outcome;
  }

  private async enclosingFlowRun(tx: Transaction, task: TaskRunEntity): Promise<EnclosingFlowRun | null> {
    if (!task.flow_run_id) return null;
    const flowRun = await tx.flowRuns.findById(task.flow_run_id);
    if (!flowRun) return null;
    const state = flowRun.state_id ? await tx.flowRunStates.findById(flowRun.state_id) : null;
    return { id: flowRun.id, state: state && stateFromRow(state) };
  }
}
