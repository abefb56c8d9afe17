import {
  DeploymentResponse,
  DeploymentScheduleResponse,
  formatDateTime,
  GlobalConcurrencyLimitResponse,
} from '@app/contracts';
import type { Actor, DeploymentEntity, DeploymentScheduleEntity } from '@app/persistence';

export function presentDeploymentSchedule(schedule: DeploymentScheduleEntity): DeploymentScheduleResponse {
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
 * The deployment's limit as Prefect's `concurrency_limit_v2` row named after it; `activeSlots` are its live leases.
 * A row whose limit predates the stored identity shows the deployment's own id and times.
 */
function presentConcurrencyLimit(
  deployment: DeploymentEntity,
  activeSlots: number,
): GlobalConcurrencyLimitResponse | null {
  if (deployment.concurrency_limit === null) return null;
  return {
    id: deployment.concurrency_limit_id ?? deployment.id,
    created: formatDateTime(deployment.concurrency_limit_created ?? deployment.created),
    updated: formatDateTime(deployment.concurrency_limit_updated ?? deployment.updated),
    active: true,
    name: `deployment:${deployment.id}`,
    limit: deployment.concurrency_limit,
    active_slots: activeSlots,
    slot_decay_per_second: 0,
  };
}

/**
 * Prefect's `DeploymentResponse`. Expects the deployment with its queue (and the queue's pool) and its
 * schedules loaded: the queue, when there is one, names `work_queue_name` and `work_pool_name`. `activeSlots`:
 * the live leases of its concurrency limit.
 */
export function presentDeployment(deployment: DeploymentEntity, activeSlots = 0): DeploymentResponse {
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
    global_concurrency_limit: presentConcurrencyLimit(deployment, activeSlots),
    concurrency_options: deployment.concurrency_options && {
      collision_strategy: deployment.concurrency_options.collision_strategy,
      grace_period_seconds: deployment.concurrency_options.grace_period_seconds ?? null,
    },
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
