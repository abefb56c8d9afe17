import type { DateTimeString } from './flow.responses';

export type WorkPoolStatusName = 'READY' | 'NOT_READY' | 'PAUSED';
export type WorkQueueStatusName = 'READY' | 'NOT_READY' | 'PAUSED';

export interface WorkPoolStorageConfiguration {
  bundle_upload_step: Record<string, unknown> | null;
  bundle_execution_step: Record<string, unknown> | null;
  /** Left out for Prefect clients up to 3.3.7, which refuse it. */
  default_result_storage_block_id?: string | null;
}

export interface WorkPoolResponse {
  id: string;
  created: DateTimeString | null;
  updated: DateTimeString | null;
  name: string;
  description: string | null;
  type: string;
  base_job_template: Record<string, unknown>;
  is_paused: boolean;
  concurrency_limit: number | null;
  status: WorkPoolStatusName | null;
  default_queue_id: string | null;
  storage_configuration: WorkPoolStorageConfiguration;
  /** Runs holding a slot (PENDING or RUNNING); null when the pool has no concurrency limit. */
  active_slots: number | null;
}

export interface QueueFilterResponse {
  tags: string[] | null;
  deployment_ids: string[] | null;
}

export interface WorkQueueResponse {
  id: string;
  created: DateTimeString | null;
  updated: DateTimeString | null;
  name: string;
  description: string | null;
  is_paused: boolean;
  concurrency_limit: number | null;
  priority: number;
  work_pool_id: string | null;
  filter: QueueFilterResponse | null;
  last_polled: DateTimeString | null;
  work_pool_name: string | null;
  status: WorkQueueStatusName | null;
  /** Runs holding a slot (PENDING or RUNNING); null when the queue has no concurrency limit. */
  active_slots: number | null;
}

export interface WorkerResponse {
  id: string;
  created: DateTimeString | null;
  updated: DateTimeString | null;
  name: string;
  work_pool_id: string;
  last_heartbeat_time: DateTimeString | null;
  heartbeat_interval_seconds: number | null;
  status: 'ONLINE' | 'OFFLINE';
}

/** `GET /work_queues/{id}/status` (Prefect's legacy queue health view). */
export interface WorkQueueStatusDetail {
  healthy: boolean;
  late_runs_count: number;
  last_polled: DateTimeString | null;
  health_check_policy: { maximum_late_runs: number | null; maximum_seconds_since_last_polled: number | null };
}

/** A run holding a slot, as `concurrency_status` lists it; `time_in_current_state` in seconds. */
export interface FlowRunSlotSummary {
  id: string;
  name: string;
  state_type: string | null;
  state_name: string | null;
  start_time: DateTimeString | null;
  state_timestamp: DateTimeString | null;
  time_in_current_state: number | null;
}

/** `POST /work_queues/{id}/concurrency_status`: the queue's slot holders, a page of them listed. */
export interface WorkQueueConcurrencyStatus {
  active_slots: number;
  concurrency_limit: number | null;
  flow_runs: FlowRunSlotSummary[];
  count: number;
  limit: number;
  pages: number;
  page: number;
}

export interface WorkQueueConcurrencyStatusDetail {
  queue_id: string;
  queue_name: string;
  active_slots: number;
  concurrency_limit: number | null;
  flow_runs: FlowRunSlotSummary[];
  flow_run_count: number;
}

/** `POST /work_pools/{name}/concurrency_status`: the pool's slot holders, per queue, a page of queues listed. */
export interface WorkPoolConcurrencyStatus {
  active_slots: number;
  concurrency_limit: number | null;
  queues: WorkQueueConcurrencyStatusDetail[];
  count: number;
  limit: number;
  pages: number;
  page: number;
}
