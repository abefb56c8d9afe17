import type { DateTimeString } from './flow.responses';

/** Prefect's schedule union as stored and returned (`interval` in float seconds). */
export interface IntervalScheduleResponse {
  interval: number;
  anchor_date: DateTimeString;
  timezone: string | null;
}

export interface CronScheduleResponse {
  cron: string;
  timezone: string | null;
  day_or: boolean;
}

export interface RRuleScheduleResponse {
  rrule: string;
  timezone: string | null;
}

export type ScheduleResponse = IntervalScheduleResponse | CronScheduleResponse | RRuleScheduleResponse;

/** `schemas.core.DeploymentSchedule`. */
export interface DeploymentScheduleResponse {
  id: string;
  created: DateTimeString | null;
  updated: DateTimeString | null;
  deployment_id: string | null;
  schedule: ScheduleResponse;
  active: boolean;
  max_scheduled_runs: number | null;
  parameters: Record<string, unknown>;
  slug: string | null;
}

export interface ConcurrencyOptionsResponse {
  collision_strategy: 'ENQUEUE' | 'CANCEL_NEW';
  grace_period_seconds: number | null;
}

/** `schemas.responses.GlobalConcurrencyLimitResponse`: a deployment's limit as Prefect stores it. */
export interface GlobalConcurrencyLimitResponse {
  id: string;
  created: DateTimeString | null;
  updated: DateTimeString | null;
  active: boolean;
  name: string;
  limit: number;
  active_slots: number;
  slot_decay_per_second: number;
}

export interface ActorResponse {
  id: string | null;
  type: string | null;
  display_value: string | null;
}

/** `schemas.responses.DeploymentResponse`, fields in Prefect's order. */
export interface DeploymentResponse {
  id: string;
  created: DateTimeString | null;
  updated: DateTimeString | null;
  name: string;
  version: string | null;
  description: string | null;
  flow_id: string;
  paused: boolean;
  schedules: DeploymentScheduleResponse[];
  /** Deprecated in Prefect and always null there: the limit lives in `global_concurrency_limit`. */
  concurrency_limit: null;
  global_concurrency_limit: GlobalConcurrencyLimitResponse | null;
  concurrency_options: ConcurrencyOptionsResponse | null;
  job_variables: Record<string, unknown>;
  parameters: Record<string, unknown>;
  tags: string[];
  labels: Record<string, unknown>;
  work_queue_name: string | null;
  work_queue_id: string | null;
  last_polled: DateTimeString | null;
  parameter_openapi_schema: Record<string, unknown> | null;
  path: string | null;
  pull_steps: Record<string, unknown>[] | null;
  entrypoint: string | null;
  storage_document_id: string | null;
  infrastructure_document_id: string | null;
  created_by: ActorResponse | null;
  updated_by: ActorResponse | null;
  work_pool_name: string | null;
  status: 'READY' | 'NOT_READY' | null;
  enforce_parameter_schema: boolean;
}
