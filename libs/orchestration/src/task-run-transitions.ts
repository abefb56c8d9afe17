import { AppConfig } from '@app/config';
import { StateCreateDto } from '@app/contracts';
import {
  orchestratedTaskRun,
  orchestrateTaskRun,
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

  /** Orchestrates `proposal` for `task` (locked by the caller, or created in this transaction) and records the outcome. */
  async transition(
    tx: Transaction,
    task: TaskRunEntity,
    proposal: StateCreateDto,
    client: TransitionClient,
  ): Promise<OrchestrationOutcome> {
    const now = new Date();
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
    const outcome = await orchestrateTaskRun(context, task);
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
}
