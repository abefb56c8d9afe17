import { formatDateTime, StateType, TaskRunResponse } from '@app/contracts';
import { stateFromRow, TERMINAL_STATE_TYPES } from '../orchestration/states';
import type { StoredRunState } from '../orchestration/stored-run-state';
import { taskRunPolicy, type TaskRunPolicyJson } from '../task-runs/task-run-policy';
import { presentState } from './flow-run.presenter';
import type { ResourceRow } from './resource-row';

/** The task-run columns `TaskRun` shows. */
export interface TaskRunRow extends ResourceRow {
  name: string;
  flow_run_id: string | null;
  task_key: string;
  dynamic_key: string;
  cache_key: string | null;
  cache_expiration: Date | null;
  task_version: string | null;
  empirical_policy: TaskRunPolicyJson;
  tags: string[];
  labels: Record<string, unknown>;
  task_inputs: Record<string, unknown>;
  state_id: string | null;
  state_type: StateType | null;
  state_name: string | null;
  state_timestamp: Date | null;
  run_count: number;
  flow_run_run_count: number;
  expected_start_time: Date | null;
  next_scheduled_start_time: Date | null;
  start_time: Date | null;
  end_time: Date | null;
  total_run_time: number;
}

function estimatedRunTime(task: TaskRunRow, now: Date): number {
  if (task.state_type !== 'RUNNING' || !task.state_timestamp) return task.total_run_time;
  return task.total_run_time + (now.getTime() - task.state_timestamp.getTime()) / 1000;
}

function estimatedStartTimeDelta(task: TaskRunRow, now: Date): number {
  const expected = task.expected_start_time;
  if (!expected) return 0;
  if (task.start_time) return task.start_time > expected ? (task.start_time.getTime() - expected.getTime()) / 1000 : 0;
  const finished = task.state_type !== null && TERMINAL_STATE_TYPES.has(task.state_type);
  return !finished && expected < now ? (now.getTime() - expected.getTime()) / 1000 : 0;
}

/** Prefect's `TaskRun`, with its current state when the caller loaded it. */
export function presentTaskRun(
  task: TaskRunRow,
  state: StoredRunState | null,
  now: Date = new Date(),
): TaskRunResponse {
  return {
    id: task.id,
    created: formatDateTime(task.created),
    updated: formatDateTime(task.updated),
    name: task.name,
    flow_run_id: task.flow_run_id,
    task_key: task.task_key,
    dynamic_key: task.dynamic_key,
    cache_key: task.cache_key,
    cache_expiration: formatDateTime(task.cache_expiration),
    task_version: task.task_version,
    empirical_policy: taskRunPolicy(task.empirical_policy),
    tags: task.tags,
    labels: task.labels,
    state_id: task.state_id,
    task_inputs: task.task_inputs,
    state_type: task.state_type,
    state_name: task.state_name,
    run_count: task.run_count,
    flow_run_run_count: task.flow_run_run_count,
    expected_start_time: formatDateTime(task.expected_start_time),
    next_scheduled_start_time: formatDateTime(task.next_scheduled_start_time),
    start_time: formatDateTime(task.start_time),
    end_time: formatDateTime(task.end_time),
    total_run_time: task.total_run_time,
    estimated_run_time: estimatedRunTime(task, now),
    estimated_start_time_delta: estimatedStartTimeDelta(task, now),
    state: state ? presentState(stateFromRow(state)) : null,
  };
}
