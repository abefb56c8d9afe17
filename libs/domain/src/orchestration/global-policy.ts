import { speaksCurrentApi } from './context';
import { bookkeeping, Policy } from './rule';
import { isFinal } from './states';

/**
 * No two states of a run share a timestamp: a colliding one moves to the next free instant. Prefect steps by
 * a microsecond; instants here have millisecond precision, so the step is a millisecond.
 */
export const EnsureFlowRunStateTimestampIsUnique = bookkeeping((proposed, { environment }) => {
  let candidate = proposed.timestamp.getTime();
  while (environment.takenStateTimestamps.has(candidate)) candidate += 1;
  proposed.timestamp = new Date(candidate);
});

export const SetRunStateType = bookkeeping((proposed, { run }) => {
  run.state_type = proposed.type;
});

export const SetRunStateName = bookkeeping((proposed, { run }) => {
  run.state_name = proposed.name;
});

export const SetRunStateTimestamp = bookkeeping((proposed, { run }) => {
  run.state_timestamp = proposed.timestamp;
});

/** The first RUNNING state starts the run. */
export const SetStartTime = bookkeeping((proposed, { run }) => {
  if (proposed.type === 'RUNNING' && !run.start_time) run.start_time = proposed.timestamp;
});

/** A terminal state ends the run (and starts it, if it never ran); leaving one (a forced retry) clears the end. */
export const SetEndTime = bookkeeping((proposed, { run, initialState }) => {
  if (initialState && isFinal(initialState) && !isFinal(proposed)) run.end_time = null;
  if (isFinal(proposed) && !run.end_time) {
    run.start_time ??= proposed.timestamp;
    run.end_time = proposed.timestamp;
  }
});

/** Time spent RUNNING accrues whenever a run leaves a RUNNING state. */
export const IncrementRunTime = bookkeeping((proposed, { run, initialState }) => {
  if (initialState?.type === 'RUNNING') {
    run.total_run_time += (proposed.timestamp.getTime() - initialState.timestamp.getTime()) / 1000;
  }
});

/** The first state sets when the run is expected to start: its scheduled time, else the state's own time. */
export const SetExpectedStartTime = bookkeeping((proposed, { run }) => {
  if (run.expected_start_time) return;
  run.expected_start_time = proposed.type === 'SCHEDULED' ? proposed.state_details.scheduled_time : proposed.timestamp;
});

/** A SCHEDULED run is due at its state's scheduled time; leaving SCHEDULED clears it. */
export const SetNextScheduledStartTime = bookkeeping((proposed, { run, initialState }) => {
  if (initialState?.type === 'SCHEDULED') run.next_scheduled_start_time = null;
  if (proposed.type === 'SCHEDULED') run.next_scheduled_start_time = proposed.state_details.scheduled_time;
});

export const UpdateStateDetails = bookkeeping((proposed, { run }) => {
  proposed.state_details.flow_run_id = run.id;
});

/** A subflow's states point at the task that tracks it in the parent run. */
export const UpdateSubflowStateDetails = bookkeeping((proposed, { run }) => {
  if (run.parent_task_run_id) proposed.state_details.task_run_id = run.parent_task_run_id;
});

/** Each entry into RUNNING is one more run, except resuming from a pause. */
export const IncrementFlowRunCount = bookkeeping((proposed, { run, environment }) => {
  if (proposed.type !== 'RUNNING') return;
  if (speaksCurrentApi(environment) && run.empirical_policy.resuming) return;
  run.run_count += 1;
});

export const RemoveResumingIndicator = bookkeeping((proposed, { run, environment }) => {
  if (!speaksCurrentApi(environment) || !run.empirical_policy.resuming) return;
  if (proposed.type === 'RUNNING' || isFinal(proposed)) {
    run.empirical_policy = { ...run.empirical_policy, resuming: false };
  }
});

/**
 * Prefect's `GlobalFlowPolicy`: bookkeeping on every transition that writes a state, after the rules. (The
 * subflow's parent-task update is left out: task runs are not served here.)
 */
export const GLOBAL_FLOW_POLICY: Policy = [
  EnsureFlowRunStateTimestampIsUnique,
  SetRunStateType,
  SetRunStateName,
  SetRunStateTimestamp,
  SetStartTime,
  SetEndTime,
  IncrementRunTime,
  SetExpectedStartTime,
  SetNextScheduledStartTime,
  UpdateStateDetails,
  UpdateSubflowStateDetails,
  IncrementFlowRunCount,
  RemoveResumingIndicator,
];
