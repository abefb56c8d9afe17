import type { StateDetails, StateType } from '@app/contracts';
import type { TaskRunPolicyJson } from './task-run-policy';

/** A stored task run as the task-run recorder weighs an event against it. */
export interface TaskRunVersion {
  id: string;
  flow_run_id: string | null;
  task_key: string;
  dynamic_key: string;
  /** Microsecond-precise UTC text (`YYYY-MM-DDTHH:MM:SS.ffffffZ`); null before the first state. */
  state_timestamp: string | null;
}

/**
 * The columns a client's task-run event writes: identity and current state always, the rest only when the event
 * carries them. Instants are ISO-8601 text, so that Postgres stores their microseconds.
 */
export interface TaskRunEventColumns {
  id: string;
  flow_run_id: string | null;
  task_key: string;
  dynamic_key: string;
  state_id: string;
  state_type: StateType;
  state_name: string;
  state_timestamp: string;
  name?: string;
  cache_key?: string | null;
  cache_expiration?: string | null;
  task_version?: string | null;
  empirical_policy?: TaskRunPolicyJson;
  tags?: string[];
  labels?: Record<string, unknown>;
  task_inputs?: Record<string, unknown>;
  run_count?: number;
  flow_run_run_count?: number;
  expected_start_time?: string | null;
  next_scheduled_start_time?: string | null;
  start_time?: string | null;
  end_time?: string | null;
  total_run_time?: number;
}

/** A task-run state from a client's event; its timestamp as microsecond-precise ISO-8601 text. */
export interface TaskRunStateEventRow {
  id: string;
  task_run_id: string;
  type: StateType;
  name: string;
  timestamp: string;
  message: string | null;
  data: unknown;
  state_details: Partial<StateDetails>;
}
