import {
  formatDateTime,
  QueueFilterResponse,
  WorkerResponse,
  WorkPoolResponse,
  WorkPoolStorageConfiguration,
  WorkQueueResponse,
} from '@app/contracts';
import { reportedWorkPoolStatus } from '../work-pools/statuses';
import type { WorkPoolStatus } from '../work-pools/work-pool-status';
import type { WorkQueueStatus } from '../work-pools/work-queue-status';
import type { WorkerStatus } from '../work-pools/worker-status';
import type { ResourceRow } from './resource-row';

/** The work-pool columns `WorkPool` shows. */
export interface WorkPoolRow extends ResourceRow {
  name: string;
  description: string | null;
  type: string;
  base_job_template: Record<string, unknown>;
  is_paused: boolean;
  concurrency_limit: number | null;
  status: WorkPoolStatus;
  default_queue_id: string | null;
  storage_configuration: Record<string, unknown>;
}

/** The work-queue columns `WorkQueueResponse` shows. */
export interface WorkQueueRow extends ResourceRow {
  name: string;
  description: string | null;
  is_paused: boolean;
  concurrency_limit: number | null;
  priority: number;
  work_pool_id: string;
  filter: Record<string, unknown> | null;
  last_polled: Date | null;
  status: WorkQueueStatus;
}

/** The worker columns `WorkerResponse` shows. */
export interface WorkerRow extends ResourceRow {
  name: string;
  work_pool_id: string;
  last_heartbeat_time: Date;
  heartbeat_interval_seconds: number | null;
  status: WorkerStatus;
}

export interface WorkPoolPresentation {
  /** Runs holding the pool's slots; only reported for pools with a concurrency limit. */
  activeSlots: number;
  /** Old clients refuse `storage_configuration.default_result_storage_block_id`. */
  omitDefaultResultStorageBlockId: boolean;
}

function presentStorageConfiguration(
  stored: Record<string, unknown>,
  omitBlockId: boolean,
): WorkPoolStorageConfiguration {
  const configuration: WorkPoolStorageConfiguration = {
    bundle_upload_step: (stored.bundle_upload_step as Record<string, unknown> | undefined) ?? null,
    bundle_execution_step: (stored.bundle_execution_step as Record<string, unknown> | undefined) ?? null,
  };
  if (!omitBlockId) {
    configuration.default_result_storage_block_id =
      (stored.default_result_storage_block_id as string | undefined) ?? null;
  }
  return configuration;
}

export function presentWorkPool(
  pool: WorkPoolRow,
  { activeSlots, omitDefaultResultStorageBlockId }: WorkPoolPresentation,
): WorkPoolResponse {
  return {
    id: pool.id,
    created: formatDateTime(pool.created),
    updated: formatDateTime(pool.updated),
    name: pool.name,
    description: pool.description,
    type: pool.type,
    base_job_template: pool.base_job_template,
    is_paused: pool.is_paused,
    concurrency_limit: pool.concurrency_limit,
    status: reportedWorkPoolStatus(pool.type, pool.status),
    default_queue_id: pool.default_queue_id,
    storage_configuration: presentStorageConfiguration(pool.storage_configuration, omitDefaultResultStorageBlockId),
    active_slots: pool.concurrency_limit === null ? null : activeSlots,
  };
}

/** `activeSlots`: runs holding the queue's slots; only reported for queues with a concurrency limit. */
export function presentWorkQueue(queue: WorkQueueRow, workPoolName: string, activeSlots: number): WorkQueueResponse {
  return {
    id: queue.id,
    created: formatDateTime(queue.created),
    updated: formatDateTime(queue.updated),
    name: queue.name,
    description: queue.description,
    is_paused: queue.is_paused,
    concurrency_limit: queue.concurrency_limit,
    priority: queue.priority,
    work_pool_id: queue.work_pool_id,
    filter: queue.filter as QueueFilterResponse | null,
    last_polled: formatDateTime(queue.last_polled),
    work_pool_name: workPoolName,
    status: queue.status,
    active_slots: queue.concurrency_limit === null ? null : activeSlots,
  };
}

/** The stored status: heartbeats set ONLINE, the foreman sets OFFLINE (Prefect serves the column as is). */
export function presentWorker(worker: WorkerRow): WorkerResponse {
  return {
    id: worker.id,
    created: formatDateTime(worker.created),
    updated: formatDateTime(worker.updated),
    name: worker.name,
    work_pool_id: worker.work_pool_id,
    last_heartbeat_time: formatDateTime(worker.last_heartbeat_time),
    heartbeat_interval_seconds: worker.heartbeat_interval_seconds,
    status: worker.status,
  };
}
