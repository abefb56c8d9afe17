import { DeploymentResponse, DeploymentScheduleResponse, formatDateTime } from '@app/contracts';
import type { Actor } from '../actor';
import type { ConcurrencyOptions } from '../deployments/concurrency-options';
import type { DeploymentStatus } from '../deployments/deployment-status';
import type { Schedule } from '../schedules/schedule-types';
import type { ResourceRow } from './resource-row';

/** The deployment-schedule columns `DeploymentSchedule` shows. */
export interface DeploymentScheduleRow extends ResourceRow {
  deployment_id: string;
  schedule: Schedule;
  active: boolean;
  max_scheduled_runs: number | null;
  parameters: Record<string, unknown>;
  slug: string | null;
}

/** The deployment columns `DeploymentResponse` shows, with its queue (and the queue's pool) and schedules when loaded. */
export interface DeploymentRow extends ResourceRow {
  name: string;
  version: string | null;
  description: string | null;
  flow_id: string;
  paused: boolean;
  status: DeploymentStatus;
  last_polled: Date | null;
  concurrency_options: ConcurrencyOptions | null;
  parameters: Record<string, unknown>;
  parameter_openapi_schema: Record<string, unknown> | null;
  enforce_parameter_schema: boolean;
  tags: string[];
  labels: Record<string, unknown>;
  work_queue_name: string | null;
  work_queue_id: string | null;
  work_queue?: { id: string; name: string; work_pool?: { name: string } } | null;
  schedules?: DeploymentScheduleRow[];
  path: string | null;
  entrypoint: string | null;
  pull_steps: Record<string, unknown>[] | null;
  storage_document_id: string | null;
  infrastructure_document_id: string | null;
  job_variables: Record<string, unknown>;
  created_by: Actor | null;
  updated_by: Actor | null;
}

export function presentDeploymentSchedule(schedule: DeploymentScheduleRow): DeploymentScheduleResponse {
  return {
    id: schedule.id,
    created: formatDateTime(schedule.created),
    updated: formatDateTime(schedule.updated),
    deployment_id: schedule.deployment_id,
    schedule: schedule.schedule,
    active: schedule.active,
    max_scheduled_runs: schedule.max_scheduled_runs,
    parameters: schedule.parameters,
    slug: schedule.slug,
  };
}

const presentActor = (actor: Actor | null) =>
  actor ? { id: actor.id ?? null, type: actor.type ?? null, display_value: actor.display_value ?? null } : null;

/**
 * Prefect's `DeploymentResponse`. Expects the deployment with its queue (and the queue's pool) and its
 * schedules loaded: the queue, when there is one, names `work_queue_name` and `work_pool_name`.
 */
export function presentDeployment(deployment: DeploymentRow): DeploymentResponse {
  const queue = deployment.work_queue ?? null;
  return {
    id: deployment.id,
    created: formatDateTime(deployment.created),
    updated: formatDateTime(deployment.updated),
    name: deployment.name,
    version: deployment.version,
    description: deployment.description,
    flow_id: deployment.flow_id,
    paused: deployment.paused,
    schedules: (deployment.schedules ?? []).map(presentDeploymentSchedule),
    concurrency_limit: null,
    global_concurrency_limit: null,
    concurrency_options: deployment.concurrency_options,
    job_variables: deployment.job_variables,
    parameters: deployment.parameters,
    tags: deployment.tags,
    labels: deployment.labels ?? {},
    work_queue_name: queue ? queue.name : deployment.work_queue_name,
    work_queue_id: queue ? queue.id : deployment.work_queue_id,
    last_polled: formatDateTime(deployment.last_polled),
    parameter_openapi_schema: deployment.parameter_openapi_schema,
    path: deployment.path,
    pull_steps: deployment.pull_steps,
    entrypoint: deployment.entrypoint,
    storage_document_id: deployment.storage_document_id,
    infrastructure_document_id: deployment.infrastructure_document_id,
    created_by: presentActor(deployment.created_by),
    updated_by: presentActor(deployment.updated_by),
    work_pool_name: queue?.work_pool?.name ?? null,
    status: deployment.status,
    enforce_parameter_schema: deployment.enforce_parameter_schema,
  };
}
