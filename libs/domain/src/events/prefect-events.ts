import { formatDateTime, PrefectEvent } from '@app/contracts';
import { randomUUID } from 'node:crypto';
import type { DeploymentStatus } from '../deployments/deployment-status';
import type { StatusTransitionStamp } from '../work-pools/statuses';
import type { WorkPoolStatus } from '../work-pools/work-pool-status';
import type { WorkQueueStatus } from '../work-pools/work-queue-status';

interface Named {
  id: string;
  name: string;
}
interface Pool extends Named {
  type: string;
}

/** A deployment with the names its status events carry. */
export interface DeploymentWithNames extends Named {
  flow_id: string;
  flow_name: string;
  work_queue_id: string | null;
  work_queue_name: string | null;
}

/** Prefect links a pool status event to the previous one only if that came this shortly before. */
const FOLLOWS_WINDOW_MS = 10 * 60_000;

const poolResource = (pool: Pool) => ({
  'prefect.resource.id': `prefect.work-pool.${pool.id}`,
  'prefect.resource.name': pool.name,
  'prefect.work-pool.type': pool.type,
  'prefect.resource.role': 'work-pool',
});

const queueResource = (queue: Named) => ({
  'prefect.resource.id': `prefect.work-queue.${queue.id}`,
  'prefect.resource.name': queue.name,
  'prefect.resource.role': 'work-queue',
});

/** Prefect's `in_kebab_case()` of a status, as event names spell it: `NOT_READY` → `not-ready`. */
export function kebabStatus(status: string): string {
  return status.toLowerCase().replace(/_/g, '-');
}

function event(
  name: string,
  occurred: Date,
  resource: Record<string, string>,
  related: Record<string, string>[],
  identity: { id: string; follows: string | null } = { id: randomUUID(), follows: null },
): PrefectEvent {
  return {
    id: identity.id,
    occurred: formatDateTime(occurred) as string,
    event: name,
    resource,
    related,
    payload: {},
    follows: identity.follows,
  };
}

/** `prefect.work-queue.<status>`, with its pool as the related resource (reference 3.1). */
export function workQueueStatusEvent(status: WorkQueueStatus, queue: Named, pool: Pool, occurred: Date): PrefectEvent {
  return event(`prefect.work-queue.${kebabStatus(status)}`, occurred, queueResource(queue), [poolResource(pool)]);
}

/**
 * `prefect.deployment.<status>` (reference 3.2): related are its flow, then its queue and the queue's pool when
 * it has one.
 */
export function deploymentStatusEvent(
  status: DeploymentStatus,
  deployment: DeploymentWithNames,
  pool: Pool | null,
  occurred: Date,
): PrefectEvent {
  const related = [
    {
      'prefect.resource.id': `prefect.flow.${deployment.flow_id}`,
      'prefect.resource.name': deployment.flow_name,
      'prefect.resource.role': 'flow',
    },
  ];
  if (deployment.work_queue_id) {
    related.push(queueResource({ id: deployment.work_queue_id, name: deployment.work_queue_name ?? '' }));
  }
  if (deployment.work_queue_id && pool) related.push(poolResource(pool));
  return event(
    `prefect.deployment.${kebabStatus(status)}`,
    occurred,
    { 'prefect.resource.id': `prefect.deployment.${deployment.id}`, 'prefect.resource.name': deployment.name },
    related,
  );
}

/**
 * `prefect.work-pool.<status>` for the status `pool` was just given (reference 4.2). The event is the transition:
 * its id and time are the pool's new stamp, and it follows the pool's previous status event (`previous`, the stamp
 * before) when that was recent, so consumers can order the two. A new pool has no previous stamp.
 */
export function workPoolStatusEvent(
  pool: Pool & StatusTransitionStamp & { status: WorkPoolStatus },
  previous: { last_status_event_id: string | null; last_transitioned_status_at: Date | null } | null,
): PrefectEvent {
  const at = pool.last_transitioned_status_at;
  const previousAt = previous?.last_transitioned_status_at;
  const recent = previousAt != null && at.getTime() - previousAt.getTime() < FOLLOWS_WINDOW_MS;
  return event(
    `prefect.work-pool.${kebabStatus(pool.status)}`,
    at,
    {
      'prefect.resource.id': `prefect.work-pool.${pool.id}`,
      'prefect.resource.name': pool.name,
      'prefect.work-pool.type': pool.type,
    },
    [],
    { id: pool.last_status_event_id, follows: recent ? (previous?.last_status_event_id ?? null) : null },
  );
}
