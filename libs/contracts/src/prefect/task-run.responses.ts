import type { StateType } from '../dto/state.dto';
import type { DateTimeString } from './flow.responses';
import type { State } from './flow-run.responses';

/** Prefect's `TaskRunPolicy`, every key present. */
export interface TaskRunPolicy {
  max_retries: number;
  retry_delay_seconds: number;
  retries: number | null;
  retry_delay: number | number[] | null;
  retry_jitter_factor: number | null;
}

/** Prefect's `TaskRun`. */
export interface TaskRunResponse {
  id: string;
  created: DateTimeString | null;
  updated: DateTimeString | null;
  name: string;
  flow_run_id: string | null;
  task_key: string;
  dynamic_key: string;
  cache_key: string | null;
  cache_expiration: DateTimeString | null;
  task_version: string | null;
  empirical_policy: TaskRunPolicy;
  tags: string[];
  labels: Record<string, unknown>;
  state_id: string | null;
  task_inputs: Record<string, unknown>;
  state_type: StateType | null;
  state_name: string | null;
  run_count: number;
  flow_run_run_count: number;
  expected_start_time: DateTimeString | null;
  next_scheduled_start_time: DateTimeString | null;
  start_time: DateTimeString | null;
  end_time: DateTimeString | null;
  total_run_time: number;
  estimated_run_time: number;
  estimated_start_time_delta: number;
  state: State | null;
}
