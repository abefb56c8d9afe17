import {
  FlowRun,
  FlowRunResponse,
  formatDateTime,
  OrchestrationResult,
  SetStateStatus,
  State,
  StateResponseDetails,
  WorkerFlowRunResponse,
} from '@app/contracts';
import type { FlowRunEntity } from '@app/persistence';
import { flowRunPolicy } from '../orchestration/orchestrated-run';
import { RunState, stateDetailsToJson, stateFromRow, TERMINAL_STATE_TYPES } from '../orchestration/states';

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
function estimatedRunTime(run: FlowRunEntity, now: Date): number {
  if (run.state_type !== 'RUNNING' || !run.state_timestamp) return run.total_run_time;
  return run.total_run_time + (now.getTime() - run.state_timestamp.getTime()) / 1000;
}

/** Lateness in seconds: how much later than expected the run started, or (not started yet) is now. */
function estimatedStartTimeDelta(run: FlowRunEntity, now: Date): number {
  const expected = run.expected_start_time;
  if (!expected) return 0;
  if (run.start_time) return run.start_time > expected ? (run.start_time.getTime() - expected.getTime()) / 1000 : 0;
  const finished = run.state_type !== null && TERMINAL_STATE_TYPES.has(run.state_type);
  return !finished && expected < now ? (now.getTime() - expected.getTime()) / 1000 : 0;
}

/** Prefect's `FlowRun` schema. `state` is only what the caller loaded: null when it was not. */
function flowRunFields(run: FlowRunEntity, now: Date): FlowRun {
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
    // Prefect stores `{}` for a run created without job variables (or with null), so it never shows null.
    job_variables: run.job_variables ?? {},
  };
}

/**
 * `FlowRunResponse`: the run with its current state (`run.state`) and, through its queue (`run.work_queue`,
 * with `work_pool`), the queue's current name and its pool.
 */
export function presentFlowRunResponse(run: FlowRunEntity, now: Date = new Date()): FlowRunResponse {
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

/** One entry of a worker's poll (`WorkerFlowRunResponse`): the run with its current state (`run.state`). */
export function presentWorkerFlowRun(
  run: FlowRunEntity & { work_queue_id: string },
  workPoolId: string,
  now: Date = new Date(),
): WorkerFlowRunResponse {
  return { work_pool_id: workPoolId, work_queue_id: run.work_queue_id, flow_run: flowRunFields(run, now) };
}
