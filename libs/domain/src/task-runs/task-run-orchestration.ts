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
import { bookkeeping, OrchestrationRule, Policy, TransitionRule } from '../orchestration/rule';
import { ALL_ORCHESTRATION_STATES, newState, RunState, StateType } from '../orchestration/states';

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

/** The flow run a task run belongs to, with its current state (null: it has none). */
export interface EnclosingFlowRun {
  id: string;
  state: RunState | null;
}

const NOT_RUNNING = 'The enclosing flow must be running to begin task execution.';

/**
 * Prefect's `PreventRunningTasksFromStoppedFlows`: a task may only start running while its flow run runs. A paused
 * flow run gets the proposal rejected into a `Paused` ("NotReady") state carrying the flow's pause timeout and
 * reschedule flag (so the task waits for the resume); any other flow state aborts it. A task run without a flow
 * run (a background task) is not concerned.
 */
export function preventRunningTasksFromStoppedFlows(flowRun: EnclosingFlowRun | null): TransitionRule {
  return class PreventRunningTasksFromStoppedFlows extends OrchestrationRule {
    static override readonly fromStates = ALL_ORCHESTRATION_STATES;
    static override readonly toStates: ReadonlySet<StateType | null> = new Set<StateType | null>(['RUNNING']);

    protected override async beforeTransition(): Promise<void> {
      if (!flowRun) return;
      const state = flowRun.state;
      if (state?.type === 'PAUSED') {
        const paused = newState('PAUSED', this.context.environment.now, {
          name: 'NotReady',
          state_details: {
            pause_timeout: state.state_details.pause_timeout,
            pause_reschedule: state.state_details.pause_reschedule ?? false,
            pause_key: null,
          },
        });
        this.reject(paused, `The flow is paused, new tasks can execute after resuming flow run: ${flowRun.id}.`);
      } else if (state?.type !== 'RUNNING') {
        this.abort(NOT_RUNNING);
      }
    }
  };
}

/** What a task-run transition depends on beyond the run itself. */
export interface TaskRunTransitionOptions {
  /** The task run's flow run, or null when it has none. */
  flowRun: EnclosingFlowRun | null;
  /** A forced proposal (`force: true`, or the state a new task run is created in) skips the core rules. */
  force: boolean;
}

/**
 * A task-run transition: Prefect's `CoreTaskPolicy` (unless forced), then the global bookkeeping. Of the core
 * rules only `PreventRunningTasksFromStoppedFlows` is ported; the others — cache retrieval and insertion,
 * terminal-state protection, tag concurrency slots, waiting for the scheduled time, retries and rerun renaming —
 * are left out because Prefect 3's engine orchestrates task runs on the client and reports them as events, so this
 * route only records what a client decided (`run_deployment`'s parent task, background tasks).
 */
export function orchestrateTaskRun(
  context: OrchestrationContext,
  task: Pick<OrchestratedTaskRunRow, 'id' | 'flow_run_id'>,
  { flowRun, force }: TaskRunTransitionOptions,
): Promise<OrchestrationOutcome> {
  const core: Policy = force ? [] : [preventRunningTasksFromStoppedFlows(flowRun)];
  return orchestrate(context, [core, globalTaskPolicy(task)]);
}
