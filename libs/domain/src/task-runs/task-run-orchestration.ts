import type { OrchestrationContext } from '../orchestration/context';
import { orchestrate, OrchestrationOutcome } from '../orchestration/engine';
import {
  EnsureFlowRunStateTimestampIsUnique,
  IncrementRunTime,
  SetEndTime,
  SetExpectedStartTime,
  SetNextScheduledStartTime,
  SetRunStateName,
  SetRunStateTimestamp,
  SetRunStateType,
  SetStartTime,
} from '../orchestration/global-policy';
import { flowRunPolicy, OrchestratedRun } from '../orchestration/orchestrated-run';
import { bookkeeping, Policy } from '../orchestration/rule';

/** The task-run fields orchestration reads. */
export type OrchestratedTaskRunRow = Pick<
  OrchestratedRun,
  | 'id'
  | 'state_type'
  | 'state_name'
  | 'state_timestamp'
  | 'run_count'
  | 'start_time'
  | 'end_time'
  | 'total_run_time'
  | 'expected_start_time'
  | 'next_scheduled_start_time'
> & { flow_run_id: string | null };

/**
 * A task run's bookkeeping fields in the shape the (run-agnostic) global transforms work on. A task run has no
 * deployment, parent task or infrastructure, and its retry policy is not read by any transform here.
 */
export function orchestratedTaskRun(task: OrchestratedTaskRunRow): OrchestratedRun {
  return {
    id: task.id,
    deployment_id: null,
    parent_task_run_id: null,
    infrastructure_pid: null,
    state_type: task.state_type,
    state_name: task.state_name,
    state_timestamp: task.state_timestamp,
    run_count: task.run_count,
    start_time: task.start_time,
    end_time: task.end_time,
    total_run_time: task.total_run_time,
    expected_start_time: task.expected_start_time,
    next_scheduled_start_time: task.next_scheduled_start_time,
    empirical_policy: flowRunPolicy({}),
  };
}

/** Each entry into RUNNING is one more run of the task (Prefect's `IncrementTaskRunCount`). */
export const IncrementTaskRunCount = bookkeeping((proposed, { run }) => {
  if (proposed.type === 'RUNNING') run.run_count += 1;
});

/**
 * Prefect's `GlobalTaskPolicy`: the common global transforms, then `IncrementTaskRunCount`. Its
 * `UpdateStateDetails` points the state at the task run and its flow run.
 */
export function globalTaskPolicy(task: Pick<OrchestratedTaskRunRow, 'id' | 'flow_run_id'>): Policy {
  const UpdateTaskRunStateDetails = bookkeeping((proposed) => {
    proposed.state_details.flow_run_id = task.flow_run_id;
    proposed.state_details.task_run_id = task.id;
  });
  return [
    EnsureFlowRunStateTimestampIsUnique,
    SetRunStateType,
    SetRunStateName,
    SetRunStateTimestamp,
    SetStartTime,
    SetEndTime,
    IncrementRunTime,
    SetExpectedStartTime,
    SetNextScheduledStartTime,
    UpdateTaskRunStateDetails,
    IncrementTaskRunCount,
  ];
}

/**
 * A task-run transition through the global bookkeeping only: every proposal is accepted (forced or not).
 * Prefect's `CoreTaskPolicy` rules are left out — cache retrieval and insertion, terminal-state protection,
 * stopped-flow checks, tag concurrency slots, waiting for the scheduled time, retries and rerun renaming —
 * because Prefect 3's engine orchestrates task runs on the client and reports them as events, so this route
 * only records what a client decided (`run_deployment`'s parent task, background tasks).
 */
export function orchestrateTaskRun(
  context: OrchestrationContext,
  task: Pick<OrchestratedTaskRunRow, 'id' | 'flow_run_id'>,
): Promise<OrchestrationOutcome> {
  return orchestrate(context, [globalTaskPolicy(task)]);
}
