import type { Actor } from '../actor';
import type { Schedule } from './schedule-types';

/** A deployment as the scheduler reads it. */
export interface SchedulerDeployment {
  id: string;
  flow_id: string;
  version: string | null;
  work_queue_name: string | null;
  work_queue_id: string | null;
  parameters: Record<string, unknown>;
  infrastructure_document_id: string | null;
  tags: string[];
  labels: Record<string, unknown>;
}

/** A deployment schedule as the scheduler reads it. */
export interface SchedulerSchedule {
  id: string;
  deployment_id: string;
  schedule: Schedule;
  parameters: Record<string, unknown>;
  slug: string | null;
}

/** What the runs of one deployment schedule share: the columns Prefect copies from the deployment and schedule. */
export interface ScheduledRunTemplateRow {
  flow_id: string;
  deployment_id: string;
  deployment_version: string | null;
  work_queue_name: string | null;
  work_queue_id: string | null;
  parameters: Record<string, unknown>;
  infrastructure_document_id: string | null;
  tags: string[];
  labels: Record<string, unknown>;
  created_by: Actor;
}

/** One run to insert: which template, and what differs per date. */
export interface ScheduledRunRow {
  /** Index into the templates. */
  template: number;
  name: string;
  idempotency_key: string;
  scheduled_time: Date;
}
