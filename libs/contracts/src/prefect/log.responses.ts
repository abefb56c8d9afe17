import type { DateTimeString } from './flow.responses';

/** Prefect's `Log`. */
export interface LogResponse {
  id: string;
  created: DateTimeString | null;
  updated: DateTimeString | null;
  name: string;
  level: number;
  message: string;
  timestamp: DateTimeString;
  flow_run_id: string | null;
  task_run_id: string | null;
}

/** Prefect's `ServerDefaultResultStorage`. */
export interface ServerDefaultResultStorageResponse {
  default_result_storage_block_id: string | null;
}
