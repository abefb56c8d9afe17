import {
  FlowRun,
  FlowRunPolicy,
  FlowRunResponse,
  formatDateTime,
  OrchestrationResult,
  SetStateStatus,
  State,
  StateResponseDetails,
  StateType,
  WorkerFlowRunResponse,
} from '@app/contracts';
import type { Actor } from '../actor';
import { flowRunPolicy } from '../orchestration/orchestrated-run';
import { RunState, stateDetailsToJson, stateFromRow, TERMINAL_STATE_TYPES } from '../orchestration/states';
import type { StoredRunState } from '../orchestration/stored-run-state';
import type { ResourceRow } from './resource-row';

/** The flow-run columns Prefect's `FlowRun` schema shows. */
export interface FlowRunRow extends ResourceRow {
  name: string;
  flow_id: string;
  state_id: string | null;
  deployment_id: string | null;
  deployment_version: string | null;
  work_queue_id: string | null;
  work_queue_name: string | null;
  flow_version: string | null;
  parameters: Record<string, unknown>;
  idempotency_key: string | null;
  context: Record<string, unknown>;
  empirical_policy: Partial<FlowRunPolicy>;
  tags: string[];
  labels: Record<string, unknown>;
  parent_task_run_id: string | null;
  state_type: StateType | null;
  state_name: string | null;
  state_timestamp: Date | null;
  run_count: number;
  expected_start_time: Date | null;
  next_scheduled_start_time: Date | null;
  start_time: Date | null;
  end_time: Date | null;
  total_run_time: number;
  auto_scheduled: boolean;
  infrastructure_document_id: string | null;
  infrastructure_pid: string | null;
  created_by: Actor | null;
  job_variables: Record<string, unknown> | null;
  /** The current state, when the caller loaded it. */
  state?: StoredRunState | null;
}

/** A flow run with its queue (and the queue's pool), when the caller loaded them. */
export interface FlowRunResponseRow extends FlowRunRow {
  work_queue?: { id: string; name: string; work_pool?: { id: string; name: string } } | null;
}

export function presentState(state: RunState): State {
  return {
    id: state.id,
    type: state.type,
    name: state.name,
    timestamp: formatDateTime(state.timestamp) as string,
    message: state.message,
    data: state.data,
    state_details: stateDetailsToJson(state.state_details),
  };
}

export function presentOrchestrationResult(outcome: {
  status: SetStateStatus;
  details: StateResponseDetails;
  state: RunState | null;
}): OrchestrationResult {
  return { state: outcome.state && presentState(outcome.state), status: outcome.status, details: outcome.details };
}

/** Seconds spent RUNNING so far, counting the current RUNNING state up to `now`. */
function estimatedRunTime(run: FlowRunRow, now: Date): number {
  if (run.state_type !== 'RUNNING' || !run.state_timestamp) return run.total_run_time;
  return run.total_run_time + (now.getTime() - run.state_timestamp.getTime()) / 1000;
}

/** Lateness in seconds: how much later than expected the run started, or (not started yet) is now. */
function estimatedStartTimeDelta(run: FlowRunRow, now: Date): number {
  const expected = run.expected_start_time;
  if (!expected) return 0;
  if (run.start_time) return run.start_time > expected ? (run.start_time.getTime() - expected.getTime()) / 1000 : 0;
  const finished = run.state_type !== null && TERMINAL_STATE_TYPES.has(run.state_type);
  return !finished && expected < now ? (now.getTime() - expected.getTime()) / 1000 : 0;
}

/** Prefect's `FlowRun` schema. `state` is only what the caller loaded: null when it was not. */
function flowRunFields(run: FlowRunRow, now: Date): FlowRun {
  return {
    id: run.id,
    created: formatDateTime(run.created),
    updated: formatDateTime(run.updated),
    name: run.name,
    flow_id: run.flow_id,
    state_id: run.state_id,
    deployment_id: run.deployment_id,
    deployment_version: run.deployment_version,
    work_queue_name: run.work_queue_name,
    flow_version: run.flow_version,
    parameters: run.parameters,
    idempotency_key: run.idempotency_key,
    context: run.context,
    empirical_policy: flowRunPolicy(run.empirical_policy),
    tags: run.tags,
    labels: run.labels,
    parent_task_run_id: run.parent_task_run_id,
    state_type: run.state_type,
    state_name: run.state_name,
    run_count: run.run_count,
    expected_start_time: formatDateTime(run.expected_start_time),
    next_scheduled_start_time: formatDateTime(run.next_scheduled_start_time),
    start_time: formatDateTime(run.start_time),
    end_time: formatDateTime(run.end_time),
    total_run_time: run.total_run_time,
    estimated_run_time: estimatedRunTime(run, now),
    estimated_start_time_delta: estimatedStartTimeDelta(run, now),
    auto_scheduled: run.auto_scheduled,
    infrastructure_document_id: run.infrastructure_document_id,
    infrastructure_pid: run.infrastructure_pid,
    created_by: run.created_by && {
      id: run.created_by.id ?? null,
      type: run.created_by.type ?? null,
      display_value: run.created_by.display_value ?? null,
    },
    work_queue_id: run.work_queue_id,
    state: run.state ? presentState(stateFromRow(run.state)) : null,
    job_variables: run.job_variables,
  };
}

/**
 * `FlowRunResponse`: the run with its current state (`run.state`) and, through its queue (`run.work_queue`,
 * with `work_pool`), the queue's current name and its pool.
 */
export function presentFlowRunResponse(run: FlowRunResponseRow, now: Date = new Date()): FlowRunResponse {
  const { state, job_variables, ...fields } = flowRunFields(run, now);
  const queue = run.work_queue;
  return {
    ...fields,
    work_queue_id: queue?.id ?? run.work_queue_id,
    work_queue_name: queue?.name ?? run.work_queue_name,
    work_pool_id: queue?.work_pool?.id ?? null,
    work_pool_name: queue?.work_pool?.name ?? null,
    state,
    job_variables,
  };
}

/**
 * One entry of a worker's poll (`WorkerFlowRunResponse`). As in Prefect, the embedded run's `state` is null
 * (the poll does not load it) whatever `run.state` holds.
 */
export function presentWorkerFlowRun(
  run: FlowRunRow & { work_queue_id: string },
  workPoolId: string,
  now: Date = new Date(),
): WorkerFlowRunResponse {
  return {
    work_pool_id: workPoolId,
    work_queue_id: run.work_queue_id,
    flow_run: { ...flowRunFields(run, now), state: null },
  };
}
