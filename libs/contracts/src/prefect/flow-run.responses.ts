import type { RetryType } from '../dto/flow-run.dto';
import type { StateType } from '../dto/state.dto';
import type { DateTimeString } from './flow.responses';

/** `StateDetails`: every key is always present, with Prefect's defaults. */
export interface StateDetails {
  flow_run_id: string | null;
  task_run_id: string | null;
  child_flow_run_id: string | null;
  scheduled_time: DateTimeString | null;
  cache_key: string | null;
  cache_expiration: DateTimeString | null;
  deferred: boolean | null;
  untrackable_result: boolean;
  pause_timeout: DateTimeString | null;
  pause_reschedule: boolean;
  pause_key: string | null;
  run_input_keyset: Record<string, string> | null;
  refresh_cache: boolean | null;
  retriable: boolean | null;
  transition_id: string | null;
  task_parameters_id: string | null;
  traceparent: string | null;
  deployment_concurrency_lease_id: string | null;
}

/** `State`. */
export interface State {
  id: string;
  type: StateType;
  name: string | null;
  timestamp: DateTimeString;
  message: string | null;
  data: unknown;
  state_details: StateDetails;
}

/** `FlowRunPolicy`. */
export interface FlowRunPolicy {
  max_retries: number;
  retry_delay_seconds: number;
  retries: number | null;
  retry_delay: number | null;
  pause_keys: string[] | null;
  resuming: boolean | null;
  retry_type: RetryType | null;
}

/** `CreatedBy`. */
export interface CreatedBy {
  id: string | null;
  type: string | null;
  display_value: string | null;
}

/** `FlowRun` (Prefect's core schema, as embedded in `WorkerFlowRunResponse`). */
export interface FlowRun {
  id: string;
  created: DateTimeString | null;
  updated: DateTimeString | null;
  name: string;
  flow_id: string;
  state_id: string | null;
  deployment_id: string | null;
  deployment_version: string | null;
  work_queue_name: string | null;
  flow_version: string | null;
  parameters: Record<string, unknown>;
  idempotency_key: string | null;
  context: Record<string, unknown>;
  empirical_policy: FlowRunPolicy;
  tags: string[];
  labels: Record<string, unknown> | null;
  parent_task_run_id: string | null;
  state_type: StateType | null;
  state_name: string | null;
  run_count: number;
  expected_start_time: DateTimeString | null;
  next_scheduled_start_time: DateTimeString | null;
  start_time: DateTimeString | null;
  end_time: DateTimeString | null;
  /** Seconds. */
  total_run_time: number;
  /** Seconds, computed when read. */
  estimated_run_time: number;
  /** Seconds, computed when read. */
  estimated_start_time_delta: number;
  auto_scheduled: boolean;
  infrastructure_document_id: string | null;
  infrastructure_pid: string | null;
  created_by: CreatedBy | null;
  work_queue_id: string | null;
  state: State | null;
  job_variables: Record<string, unknown> | null;
}

/** `FlowRunResponse`: `FlowRun` plus the run's work pool, resolved through its queue. */
export interface FlowRunResponse extends FlowRun {
  work_pool_id: string | null;
  work_pool_name: string | null;
}

/** `WorkerFlowRunResponse`: one entry of `POST /work_pools/{name}/get_scheduled_flow_runs`. */
export interface WorkerFlowRunResponse {
  work_pool_id: string;
  work_queue_id: string;
  flow_run: FlowRun;
}

export type SetStateStatus = 'ACCEPT' | 'REJECT' | 'ABORT' | 'WAIT';

export type StateResponseDetails =
  | { type: 'accept_details' }
  | { type: 'reject_details'; reason: string | null }
  | { type: 'abort_details'; reason: string | null }
  | { type: 'wait_details'; delay_seconds: number; reason: string | null };

/** `OrchestrationResult`: the answer to a proposed state. */
export interface OrchestrationResult {
  state: State | null;
  status: SetStateStatus;
  details: StateResponseDetails;
}

/** One run of `POST /deployments/{id}/create_flow_run/bulk`, in the order asked. */
export interface FlowRunCreateResult {
  flow_run_id: string | null;
  status: 'CREATED' | 'FAILED';
  error: string | null;
}

export interface FlowRunBulkCreateResponse {
  results: FlowRunCreateResult[];
}
