import { formatDateTime, PrefectEvent } from '@app/contracts';
import { randomUUID } from 'node:crypto';

interface Named {
  id: string;
  name: string;
}
interface Pool extends Named {
  type: string;
}

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

function event(name: string, occurred: Date, resource: Record<string, string>, related: Record<string, string>[]): PrefectEvent {
  return { id: randomUUID(), occurred: formatDateTime(occurred) as string, event: name, resource, related, payload: {} };
}

/** `prefect.work-queue.ready`, as a poll emits it for a queue that was NOT_READY (reference 3.1). */
export function workQueueReadyEvent(queue: Named, pool: Pool, occurred: Date): PrefectEvent {
  return event('prefect.work-queue.ready', occurred, queueResource(queue), [poolResource(pool)]);
}

/** `prefect.deployment.ready`, as a poll emits it for a deployment that was NOT_READY (reference 3.2). */
export function deploymentReadyEvent(
  deployment: Named & { flow_id: string; flow_name: string; work_queue_id: string | null; work_queue_name: string | null },
  pool: Pool,
  occurred: Date,
): PrefectEvent {
  const related = [{ 'prefect.resource.id': `prefect.flow.${deployment.flow_id}`, 'prefect.resource.name': deployment.flow_name, 'prefect.resource.role': 'flow' }];
  if (deployment.work_queue_id) related.push(queueResource({ id: deployment.work_queue_id, name: deployment.work_queue_name ?? '' }));
  related.push(poolResource(pool));
  return event(
    'prefect.deployment.ready',
    occurred,
    { 'prefect.resource.id': `prefect.deployment.${deployment.id}`, 'prefect.resource.name': deployment.name },
    related,
  );
}
